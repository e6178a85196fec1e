/*
 * Kubernetes quantities (resource.Quantity of k8s.io/apimachinery): "500m", "2", "4Gi", "1.5e3", "322122547200m".
 *
 *   <quantity>        ::= <signedNumber><suffix>
 *   <signedNumber>    ::= <number> | <sign><number>          <sign> ::= "+" | "-"
 *   <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
 *   <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
 *   <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei                      (powers of 1024)
 *   <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E          (powers of 1000)
 *   <decimalExponent> ::= "e" <sign?><digits> | "E" <sign?><digits>      (a power of ten: "1e3", "5E-2")
 *
 * The value is held exactly, as the API server holds it: rounded up (away from zero) to a whole nano-unit, never
 * through a floating-point number. Pure, no allocation; safe on untrusted text.
 */
#ifndef KUBE_KUBE_QUANTITY_H
#define KUBE_KUBE_QUANTITY_H

#include <stddef.h>
#include <stdint.h>

#define KUBE_QUANTITY_MAX_LEN 128 /* longer text is refused (the API server writes at most ~25 characters) */

/** |value| = whole + nano / 10^9, rounded up to a whole nano-unit; whole <= INT64_MAX. */
typedef struct kube_quantity {
    int negative;
    uint64_t whole;
    uint32_t nano;
} kube_quantity_t;

/**
 * Parses `len` bytes of `s` (no blanks, no NUL needed). Returns 0; -EINVAL when the text is not a quantity (or
 * longer than KUBE_QUANTITY_MAX_LEN); -ERANGE when its magnitude passes 2^63-1 (as the API documents, no quantity
 * is larger): `q` then holds that cap with the sign, for callers that can use a bound.
 */
int kube_quantity_parse_n(const char *s, size_t len, kube_quantity_t *q);
/** The same for a NUL-terminated string (NULL: -EINVAL). */
int kube_quantity_parse(const char *s, kube_quantity_t *q);

/**
 * The value in units of 10^exp10 (exp10 from -9 to 18: -3 for milli-units, 0 for units), rounded up (`round_up`
 * 1, towards +infinity) or down (0, towards -infinity), as resource.Quantity's ScaledValue() and MilliValue()
 * round up. Returns 0, or -ERANGE when it does not fit an int64 (`out` untouched), -EINVAL for a bad exp10.
 */
int kube_quantity_scaled(const kube_quantity_t *q, int exp10, int round_up, int64_t *out);
/** Milli-units rounded up (MilliValue()): CPU in millicores. */
int kube_quantity_milli(const kube_quantity_t *q, int64_t *out);
/** Whole units rounded up (Value()): bytes, pods. */
int kube_quantity_value(const kube_quantity_t *q, int64_t *out);
/** An approximation for display and ratios (never for admission arithmetic). */
double kube_quantity_double(const kube_quantity_t *q);
/** -1, 0 or 1 as a < b, a == b, a > b (exact). */
int kube_quantity_cmp(const kube_quantity_t *a, const kube_quantity_t *b);

#endif
