/* REDIS_URL: redis://[[user]:password@]host[:port][/db]. */
#ifndef STORE_REDIS_URL_H
#define STORE_REDIS_URL_H

#include <stddef.h>

typedef struct redis_url {
    char host[256];
    int port;           /* 6379 when absent */
    char user[128];     /* empty: none (AUTH with the password alone) */
    char password[256]; /* empty: no AUTH */
    int db;             /* 0 when absent */
} redis_url_t;

/** Parses `url` (percent-escapes in user and password are decoded). Returns 0, or -1 with `err` filled. */
int redis_url_parse(const char *url, redis_url_t *out, char *err, size_t errlen);

#endif
