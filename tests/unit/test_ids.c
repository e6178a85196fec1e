/* Unit tests for src/util/ids.{h,c}: run ids are "r" + 11 lowercase hex digits, random and distinct. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/ids.h"

static int is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

static void test_generated_shape(void **state)
{
    (void)state;
    for (int i = 0; i < 200; i++) {
        char id[RUN_ID_LEN + 2];
        memset(id, '#', sizeof(id));
        run_id_generate(id);
        assert_int_equal(id[RUN_ID_LEN], '\0');
        assert_int_equal(id[RUN_ID_LEN + 1], '#'); /* nothing written past the NUL */
        assert_int_equal(strlen(id), RUN_ID_LEN);
        assert_int_equal(id[0], 'r');
        for (int k = 1; k < RUN_ID_LEN; k++)
            assert_true(is_lower_hex(id[k]));
        assert_int_equal(run_id_valid(id, strlen(id)), 1);
    }
}

static int cmp_ids(const void *a, const void *b) { return strcmp(a, b); }

static void test_generated_distinct(void **state)
{
    (void)state;
    enum { COUNT = 1000 };
    char(*ids)[RUN_ID_LEN + 1] = malloc(COUNT * sizeof(*ids));
    assert_non_null(ids);
    for (int i = 0; i < COUNT; i++)
        run_id_generate(ids[i]);
    qsort(ids, COUNT, sizeof(*ids), cmp_ids);
    for (int i = 1; i < COUNT; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
    /* every hex position takes many values (the id is not mostly constant) */
    for (int k = 1; k < RUN_ID_LEN; k++) {
        int seen[16] = {0}, distinct = 0;
        for (int i = 0; i < COUNT; i++) {
            char c = ids[i][k];
            int v = c <= '9' ? c - '0' : c - 'a' + 10;
            if (!seen[v]++)
                distinct++;
        }
        assert_true(distinct >= 12); /* P(fewer than 12 of 16 in 1000 draws) is negligible */
    }
    free(ids);
}

static void test_valid_accepts(void **state)
{
    (void)state;
    assert_int_equal(run_id_valid("r1a2b3c4d5e6", 12), 1);
    assert_int_equal(run_id_valid("r000000000000", 12), 1); /* only the first 12 bytes count */
    assert_int_equal(run_id_valid("rffffffffff0", 12), 1);
    assert_int_equal(run_id_valid("r0123456789a", 12), 1);
}

static void test_valid_rejects(void **state)
{
    (void)state;
    /* wrong length */
    assert_int_equal(run_id_valid("r1a2b3c4d5e", 11), 0);
    assert_int_equal(run_id_valid("r1a2b3c4d5e6f", 13), 0);
    assert_int_equal(run_id_valid("r1a2b3c4d5e6", 11), 0);
    assert_int_equal(run_id_valid("", 0), 0);
    assert_int_equal(run_id_valid("r", 1), 0);
    /* uppercase hex */
    assert_int_equal(run_id_valid("r1A2b3c4d5e6", 12), 0);
    assert_int_equal(run_id_valid("rABCDEF01234", 12), 0);
    /* wrong prefix */
    assert_int_equal(run_id_valid("R1a2b3c4d5e6", 12), 0);
    assert_int_equal(run_id_valid("s1a2b3c4d5e6", 12), 0);
    assert_int_equal(run_id_valid("01a2b3c4d5e6", 12), 0);
    assert_int_equal(run_id_valid("rr1a2b3c4d5e", 12), 0);
    /* non-hex */
    assert_int_equal(run_id_valid("r1a2b3c4d5eg", 12), 0);
    assert_int_equal(run_id_valid("r1a2b3c4d5e/", 12), 0);
    assert_int_equal(run_id_valid("r1a2b3c4d5e:", 12), 0);
    assert_int_equal(run_id_valid("r1a2b3c4d5e`", 12), 0);
    assert_int_equal(run_id_valid("r1a2b3c4d5e ", 12), 0);
    assert_int_equal(run_id_valid("r1a2b-c4d5e6", 12), 0);
    assert_int_equal(run_id_valid("r../../etc/p", 12), 0);
    assert_int_equal(run_id_valid("r1a2b3c4d5e\xc3", 12), 0);
    static const char with_nul[] = {'r', '1', 'a', '2', 'b', '3', '\0', '4', 'd', '5', 'e', '6'};
    assert_int_equal(run_id_valid(with_nul, sizeof(with_nul)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generated_shape),
        cmocka_unit_test(test_generated_distinct),
        cmocka_unit_test(test_valid_accepts),
        cmocka_unit_test(test_valid_rejects),
    };
    return cmocka_run_group_tests_name("ids", tests, NULL, NULL);
}
