/* Files of web/ compiled into the binary (see scripts/embed.sh): the dashboard, its script, the API document. */
#ifndef HTTP_WEB_ASSETS_H
#define HTTP_WEB_ASSETS_H

#include <stddef.h>

typedef struct web_asset {
    const char *path; /* "/index.html" */
    const unsigned char *data;
    size_t size;
} web_asset_t;

/** Every embedded file; the list ends with an entry whose path is NULL. */
extern const web_asset_t web_assets[];

#endif
