/*
 * Kubernetes quantities, exactly: the digits are scaled in decimal (a binary suffix multiplies them by 2^10..2^60
 * digit by digit), then cut at the nano-unit and rounded up, as the API server does. No floating point.
 */
#include "kube/kube_quantity.h"

#include <errno.h>
#include <string.h>

__extension__ typedef unsigned __int128 u128;

#define NANO_PER_UNIT 1000000000u
#define MAX_DIGITS    28 /* the nano-value of 2^63-1 units has 28 digits */
#define EXP_CLAMP     100000

/* (2^63-1) units and 999999999 nano-units: the largest nano-value a quantity may have */
static u128 nano_limit(void)
{
    return (u128)INT64_MAX * NANO_PER_UNIT + (NANO_PER_UNIT - 1);
}

static u128 pow10_u128(int n)
{
    u128 v = 1;
    while (n-- > 0)
        v *= 10;
    return v;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The suffix: a power of ten (`exp10`) or of two (`exp2`). Returns 0 or -EINVAL. */
static int parse_suffix(const char *s, size_t len, int64_t *exp10, int *exp2)
{
    static const char decimal[] = "num kMGTPE"; /* 10^-9 .. 10^18 in steps of 10^3; ' ' is "" */
    static const char binary[] = "KMGTPE";      /* Ki .. Ei: 2^10 .. 2^60 */
    *exp10 = 0;
    *exp2 = 0;
    if (len == 0)
        return 0;
    const char *p;
    if (len == 1 && s[0] != ' ' && s[0] != '\0' && (p = strchr(decimal, s[0])) != NULL) {
        *exp10 = ((int64_t)(p - decimal) - 3) * 3;
        return 0;
    }
    if (len == 2 && s[1] == 'i' && s[0] != '\0' && (p = strchr(binary, s[0])) != NULL) {
        *exp2 = (int)(p - binary + 1) * 10;
        return 0;
    }
    if (len < 2 || (s[0] != 'e' && s[0] != 'E'))
        return -EINVAL;
    size_t i = 1;
    int neg = 0;
    if (s[i] == '+' || s[i] == '-')
        neg = s[i++] == '-';
    if (i == len)
        return -EINVAL;
    int64_t v = 0;
    for (; i < len; i++) {
        if (!is_digit(s[i]) || v > (INT64_MAX - (s[i] - '0')) / 10)
            return -EINVAL; /* as the API server: an exponent must be an int64 */
        v = v * 10 + (s[i] - '0');
    }
    *exp10 = neg ? -v : v;
    return 0;
}

int kube_quantity_parse_n(const char *s, size_t len, kube_quantity_t *q)
{
    if (s == NULL || len == 0 || len > KUBE_QUANTITY_MAX_LEN)
        return -EINVAL;
    size_t i = 0;
    int negative = 0;
    if (s[0] == '+' || s[0] == '-')
        negative = s[i++] == '-';
    /* the significant digits, most significant first, and how many of them (and skipped zeros) follow the point */
    unsigned char digits[KUBE_QUANTITY_MAX_LEN];
    size_t nd = 0, frac = 0;
    int any = 0;
    for (int in_frac = 0; i < len; i++) {
        if (s[i] == '.' && !in_frac) {
            in_frac = 1;
            continue;
        }
        if (!is_digit(s[i]))
            break;
        any = 1;
        frac += (size_t)in_frac;
        if (nd > 0 || s[i] != '0')
            digits[nd++] = (unsigned char)(s[i] - '0');
    }
    int64_t exp10;
    int exp2;
    if (!any || parse_suffix(s + i, len - i, &exp10, &exp2) != 0)
        return -EINVAL;

    /* the digits times 2^exp2, little-endian: each digit times 2^60 and the carry stay far below 2^127 */
    unsigned char le[KUBE_QUANTITY_MAX_LEN + 20];
    size_t n = 0;
    u128 carry = 0;
    for (size_t j = nd; j-- > 0;) {
        carry += (u128)digits[j] << exp2;
        le[n++] = (unsigned char)(carry % 10);
        carry /= 10;
    }
    for (; carry > 0; carry /= 10)
        le[n++] = (unsigned char)(carry % 10);

    /* nano-value = ceil(V * 10^k) with V the digits in le[] */
    if (exp10 > EXP_CLAMP)
        exp10 = EXP_CLAMP;
    if (exp10 < -EXP_CLAMP)
        exp10 = -EXP_CLAMP;
    int64_t k = exp10 - (int64_t)frac + 9;
    u128 nano = 0;
    int range = 0;
    if (n == 0) {
        nano = 0;
    } else if (k >= 0) {
        if ((int64_t)n + k > MAX_DIGITS)
            range = 1;
        else {
            for (size_t j = n; j-- > 0;)
                nano = nano * 10 + le[j];
            nano *= pow10_u128((int)k);
        }
    } else if ((size_t)-k >= n) {
        nano = 1; /* less than one nano-unit, not zero: rounded up */
    } else {
        size_t cut = (size_t)-k;
        if (n - cut > MAX_DIGITS)
            range = 1;
        else {
            for (size_t j = n; j-- > cut;)
                nano = nano * 10 + le[j];
            for (size_t j = 0; j < cut; j++)
                if (le[j] != 0) {
                    nano++;
                    break;
                }
        }
    }
    if (range || nano > nano_limit()) {
        *q = (kube_quantity_t){.negative = negative, .whole = INT64_MAX, .nano = 0};
        return -ERANGE;
    }
    *q = (kube_quantity_t){.negative = negative && nano != 0,
                           .whole = (uint64_t)(nano / NANO_PER_UNIT),
                           .nano = (uint32_t)(nano % NANO_PER_UNIT)};
    return 0;
}

int kube_quantity_parse(const char *s, kube_quantity_t *q)
{
    return s ? kube_quantity_parse_n(s, strlen(s), q) : -EINVAL;
}

int kube_quantity_scaled(const kube_quantity_t *q, int exp10, int round_up, int64_t *out)
{
    if (exp10 < -9 || exp10 > 18)
        return -EINVAL;
    u128 nano = (u128)q->whole * NANO_PER_UNIT + q->nano;
    u128 div = pow10_u128(exp10 + 9);
    u128 v = nano / div;
    int rest = nano % div != 0;
    /* towards +infinity: a positive value with a rest goes up; towards -infinity: a negative one goes down */
    if (rest && (q->negative ? !round_up : round_up))
        v++;
    if (v > (u128)INT64_MAX)
        return -ERANGE;
    *out = q->negative ? -(int64_t)v : (int64_t)v;
    return 0;
}

int kube_quantity_milli(const kube_quantity_t *q, int64_t *out)
{
    return kube_quantity_scaled(q, -3, 1, out);
}

int kube_quantity_value(const kube_quantity_t *q, int64_t *out)
{
    return kube_quantity_scaled(q, 0, 1, out);
}

double kube_quantity_double(const kube_quantity_t *q)
{
    double v = (double)q->whole + (double)q->nano / NANO_PER_UNIT;
    return q->negative ? -v : v;
}

int kube_quantity_cmp(const kube_quantity_t *a, const kube_quantity_t *b)
{
    if (a->negative != b->negative)
        return a->negative ? -1 : 1;
    int mag = a->whole != b->whole ? (a->whole < b->whole ? -1 : 1)
              : a->nano != b->nano ? (a->nano < b->nano ? -1 : 1)
                                   : 0;
    return a->negative ? -mag : mag;
}
