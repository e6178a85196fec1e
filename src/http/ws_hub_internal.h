/* What ws_client.c tells its hub (ws_hub.c); not for other modules. */
#ifndef HTTP_WS_HUB_INTERNAL_H
#define HTTP_WS_HUB_INTERNAL_H

#include <stddef.h>

#include "http/ws_client.h"

/** A client object exists (it is freed later, see ws_hub__client_gone). */
void ws_hub__client_joined(ws_hub_t *hub, ws_client_t *c);
/** The client stops receiving broadcasts (closing or closed); it no longer counts as connected. Idempotent. */
void ws_hub__client_leaving(ws_hub_t *hub, ws_client_t *c);
/** The client's handles are closed and it is about to be freed. */
void ws_hub__client_gone(ws_hub_t *hub, ws_client_t *c);
/** The client has frames to write: flush it at the end of this loop iteration. */
void ws_hub__client_dirty(ws_hub_t *hub, ws_client_t *c);
/** Counters. */
void ws_hub__delivered(ws_hub_t *hub);
void ws_hub__slow_client(ws_hub_t *hub);
size_t ws_hub__queue_limit(const ws_hub_t *hub);

#endif
