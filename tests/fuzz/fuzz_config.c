/* libFuzzer target: configuration values and the .env file (src/config.c). The input is a .env file; it is
 * read by config_load (through a memory file) and, line by line, each value is given to every variable. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

static const char *fuzz_value;

static const char *one_value(void *ctx, const char *name)
{
    (void)ctx;
    (void)name;
    return fuzz_value;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    config_t *cfg = malloc(sizeof(*cfg));
    char err[512];

    /* 1. the bytes as a .env file */
    int fd = memfd_create("dotenv", 0);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size)
        abort();
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    err[0] = '\0';
    if (config_load(cfg, path, "/opt/app", err, sizeof(err)) != 0 && err[0] == '\0')
        abort();
    close(fd);

    /* 2. the first line (up to 1 KiB) as the value of every variable at once */
    size_t n = 0;
    while (n < size && n < 1024 && data[n] != '\n' && data[n] != '\0')
        n++;
    char *value = malloc(n + 1);
    memcpy(value, data, n);
    value[n] = '\0';
    fuzz_value = value;
    err[0] = '\0';
    if (config_parse(cfg, one_value, NULL, "/opt/app", err, sizeof(err)) != 0 && err[0] == '\0')
        abort();
    free(value);
    free(cfg);
    return 0;
}
