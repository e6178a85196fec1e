/*
 * Unit tests for src/util/fs.{h,c}: the tree remover never reaches outside the tree it removes, whatever symlinks
 * are planted in it, also when a folder is swapped for a symlink while it works (as a task writing into its
 * results folder could do).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"

#define OUTSIDE_FILES 400

typedef struct tree {
    char base[64];     /* a fresh folder in /tmp */
    char root[128];    /* base/root: what is removed */
    char outside[128]; /* base/outside: must stay whole */
} tree_t;

static void path_join(char *out, size_t cap, const char *a, const char *b)
{
    assert_true(snprintf(out, cap, "%s/%s", a, b) < (int)cap);
}

static void write_file(const char *dir, const char *name)
{
    char p[512];
    path_join(p, sizeof(p), dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "x\n", 2), 2);
    close(fd);
}

static void make_dir(const char *dir, const char *name)
{
    char p[512];
    path_join(p, sizeof(p), dir, name);
    assert_int_equal(mkdir(p, 0755), 0);
}

/* Files f0..f<n-1> in `dir` (the names the outside folder also has). */
static void fill(const char *dir, int n)
{
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof(name), "f%d", i);
        write_file(dir, name);
    }
}

static int count_entries(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int n = -1;
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void tree_make(tree_t *t)
{
    snprintf(t->base, sizeof(t->base), "/tmp/test_fs.XXXXXX");
    assert_non_null(mkdtemp(t->base));
    path_join(t->root, sizeof(t->root), t->base, "root");
    path_join(t->outside, sizeof(t->outside), t->base, "outside");
    assert_int_equal(mkdir(t->root, 0755), 0);
    assert_int_equal(mkdir(t->outside, 0755), 0);
    fill(t->outside, OUTSIDE_FILES);
    make_dir(t->outside, "deep");
    char deep[256];
    path_join(deep, sizeof(deep), t->outside, "deep");
    write_file(deep, "keep");
}

static void tree_free(tree_t *t)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->base);
    assert_int_equal(system(cmd), 0);
}

static void assert_outside_whole(const tree_t *t)
{
    assert_int_equal(count_entries(t->outside), OUTSIDE_FILES + 1);
    char deep[256];
    path_join(deep, sizeof(deep), t->outside, "deep/keep");
    assert_true(exists(deep));
}

/* ---- planted symlinks ------------------------------------------------------------------------------------------ */

static void test_removes_a_whole_tree(void **state)
{
    (void)state;
    tree_t t;
    tree_make(&t);
    char a[256], ab[256];
    make_dir(t.root, "a");
    path_join(a, sizeof(a), t.root, "a");
    make_dir(a, "b");
    path_join(ab, sizeof(ab), a, "b");
    fill(t.root, 3);
    fill(ab, 5);
    write_file(a, ".hidden");
    assert_int_equal(fs_remove_tree(t.root), 0);
    assert_false(exists(t.root));
    assert_int_equal(fs_remove_tree(t.root), 0); /* already gone */
    assert_outside_whole(&t);
    tree_free(&t);
}

static void test_planted_symlinks_are_removed_not_followed(void **state)
{
    (void)state;
    tree_t t;
    tree_make(&t);
    char a[256], ab[256], link[512], target[512];
    make_dir(t.root, "a");
    path_join(a, sizeof(a), t.root, "a");
    make_dir(a, "b");
    path_join(ab, sizeof(ab), a, "b");
    fill(ab, 3);
    /* a link to the outside folder, one further down, one to a file outside, one to the outside's sub-folder */
    path_join(link, sizeof(link), t.root, "out");
    assert_int_equal(symlink(t.outside, link), 0);
    path_join(link, sizeof(link), ab, "out");
    assert_int_equal(symlink(t.outside, link), 0);
    path_join(link, sizeof(link), a, "file");
    path_join(target, sizeof(target), t.outside, "f1");
    assert_int_equal(symlink(target, link), 0);
    path_join(link, sizeof(link), ab, "deep");
    path_join(target, sizeof(target), t.outside, "deep");
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(fs_remove_tree(t.root), 0);
    assert_false(exists(t.root));
    assert_outside_whole(&t);
    tree_free(&t);
}

static void test_a_tree_that_is_a_symlink_is_only_unlinked(void **state)
{
    (void)state;
    tree_t t;
    tree_make(&t);
    char link[256];
    path_join(link, sizeof(link), t.base, "link");
    assert_int_equal(symlink(t.outside, link), 0);
    assert_int_equal(fs_remove_tree(link), 0);
    assert_false(exists(link));
    assert_outside_whole(&t);
    tree_free(&t);
}

/* ---- a folder swapped for a symlink while the remover works ------------------------------------------------ */

typedef struct swapper {
    const tree_t *t;
    char sub[256], hold[256];
    volatile int stop;
    long swaps;
} swapper_t;

/* root/a/sub becomes a symlink to the outside folder and back again, over and over. */
static void *swap_loop(void *arg)
{
    swapper_t *s = arg;
    while (!s->stop) {
        if (rename(s->sub, s->hold) != 0)
            continue;
        if (symlink(s->t->outside, s->sub) == 0) {
            s->swaps++;
            for (volatile int spin = 0; spin < 2000; spin++) {
            }
            unlink(s->sub);
        }
        rename(s->hold, s->sub);
    }
    return NULL;
}

static void test_folder_swapped_for_a_symlink_during_the_walk(void **state)
{
    (void)state;
    tree_t t;
    tree_make(&t);
    long swaps = 0;
    for (int round = 0; round < 5; round++) {
        char a[256];
        path_join(a, sizeof(a), t.root, "a");
        mkdir(a, 0755);
        swapper_t s = {.t = &t};
        path_join(s.sub, sizeof(s.sub), a, "sub");
        path_join(s.hold, sizeof(s.hold), a, "hold");
        assert_int_equal(mkdir(s.sub, 0755), 0);
        fill(s.sub, OUTSIDE_FILES); /* the outside folder's names */
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, swap_loop, &s), 0);
        fs_remove_tree(t.root); /* may fail: the swapper keeps changing what is there */
        s.stop = 1;
        pthread_join(th, NULL);
        swaps += s.swaps;
        assert_outside_whole(&t);
        unlink(s.sub); /* a link the swapper left, if any */
        assert_int_equal(fs_remove_tree(t.root), 0);
        assert_false(exists(t.root));
        assert_int_equal(mkdir(t.root, 0755), 0);
    }
    assert_true(swaps > 0); /* the race was run */
    tree_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_removes_a_whole_tree),
        cmocka_unit_test(test_planted_symlinks_are_removed_not_followed),
        cmocka_unit_test(test_a_tree_that_is_a_symlink_is_only_unlinked),
        cmocka_unit_test(test_folder_swapped_for_a_symlink_during_the_walk),
    };
    return cmocka_run_group_tests_name("fs", tests, NULL, NULL);
}
