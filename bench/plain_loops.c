/*
 * The plain C loops the task benchmark compares pipeline-task with: the least a program doing the same work can
 * cost. `plain_loops generate ROWS OUT` writes ROWS lines "1,<0..999>,<0..99>" from xorshift64, the numbers
 * formatted by hand into a 1 MiB buffer written with fwrite;
 * `plain_loops analyze IN` sums column 2 of such a file, read with fread in
 * 1 MiB blocks and parsed by hand. No fsync, no rename, no checks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Digits of v (v < 10000) at p; returns the end. */
static char *put_small(char *p, unsigned v)
{
    if (v >= 1000)
        *p++ = (char)('0' + v / 1000);
    if (v >= 100)
        *p++ = (char)('0' + v / 100 % 10);
    if (v >= 10)
        *p++ = (char)('0' + v / 10 % 10);
    *p++ = (char)('0' + v % 10);
    return p;
}

static int plain_generate(long rows, const char *out)
{
    FILE *fp = fopen(out, "w");
    if (!fp)
        return 1;
    static char buf[1 << 20];
    char *p = buf;
    uint64_t s = 88172645463325252ULL;
    for (long i = 0; i < rows; i++) {
        uint64_t r = xorshift64(&s);
        *p++ = '1';
        *p++ = ',';
        p = put_small(p, (unsigned)((r >> 32) % 1000));
        *p++ = ',';
        p = put_small(p, (unsigned)((r & 0xffffffff) % 100));
        *p++ = '\n';
        if (p > buf + sizeof(buf) - 64) {
            fwrite(buf, 1, (size_t)(p - buf), fp);
            p = buf;
        }
    }
    fwrite(buf, 1, (size_t)(p - buf), fp);
    return fclose(fp) != 0;
}

static int plain_analyze(const char *in)
{
    FILE *fp = fopen(in, "r");
    if (!fp)
        return 1;
    static char buf[1 << 20];
    long lines = 0, sum = 0, v = 0;
    int column = 0;
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
        for (size_t i = 0; i < n; i++) {
            char c = buf[i];
            if (c == ',') {
                column++;
            } else if (c == '\n') {
                sum += v;
                v = 0;
                column = 0;
                lines++;
            } else if (column == 1) {
                v = v * 10 + (c - '0');
            }
        }
    }
    fclose(fp);
    printf("{\"lines\":%ld,\"sum\":%ld}\n", lines, sum);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "generate") == 0)
        return plain_generate(atol(argv[2]), argv[3]);
    if (argc == 3 && strcmp(argv[1], "analyze") == 0)
        return plain_analyze(argv[2]);
    fputs("usage: plain_loops generate ROWS OUT | analyze IN\n", stderr);
    return 2;
}
