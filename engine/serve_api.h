/* The stateful JSON API of `barrage serve --api`: a login that hands out a token, items
 * that need it, 401 without it. A target for scenario tests (captures, checks) that any
 * serve thread can answer with no state shared between threads and no lock.
 *
 * Nothing is stored. A token and an item ID carry what they stand for, signed with a
 * keyed hash (SipHash-2-4) whose key is drawn once per process:
 *   token = "tok-" HEX16(u) HEX16(H('T', u))         u = H('U', user name)
 *   ID    = base64url(mac(8) seq(8) title)            mac = H('I', u, seq, title)
 * So any thread checks a token, tells whose an item is (the mac holds the owner's u: another
 * user's token gets 404), and gives its title back. seq is a per-thread counter (the only
 * state, in struct serve_api, owned by the worker), so creating the same title twice makes
 * two items. Tokens and IDs are valid for the life of the server process.
 *
 * Routes (JSON bodies; every response has Content-Type: application/json):
 *   POST /api/login {"user":U,"password":"pw-"U}
 *       200 {"access_token":TOKEN,"user":U}; 401 {"error":"bad credentials"};
 *       400 {"error":"bad request"} when the body is not such an object
 *   GET  /api/items?page=N       200 {"page":N,"items":[{"id":ID,"title":T},...]} (5 items)
 *   POST /api/items {"title":T}  201 {"id":ID,"title":T}, ETag and Location headers
 *   GET  /api/items/ID           200 {"id":ID,"title":T} with the ETag; 404 unless the token's
 *                                user created or was listed ID
 *   GET  /health                 200 {"status":"ok"} (no token needed)
 * The items routes answer 401 {"error":"unauthorized"} (WWW-Authenticate: Bearer) without a
 * valid "Authorization: Bearer TOKEN"; a wrong method gets 405 with Allow, other /api/ paths
 * 404, a body over SERVE_API_MAX_BODY 413. HEAD is GET without the body.
 *
 * Request bodies are parsed with jansson (which allocates); nothing else allocates.
 */
#ifndef BARRAGE_SERVE_API_H
#define BARRAGE_SERVE_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "serve_out.h"
#include "serve_reply.h"
#include "serve_request.h"

#define SERVE_API_MAX_BODY   (16 * 1024)   /* request body bytes held and parsed */
#define SERVE_API_MAX_NAME   128           /* user name and title bytes */
#define SERVE_API_PAGE_ITEMS 5
#define SERVE_API_TOKEN_LEN  36            /* "tok-" and 32 hex digits */

/* One serve thread's API state. */
struct serve_api {
    uint64_t seq;   /* the next created item's number */
};

/* Draws the key. Once, before the worker threads start. */
void serve_api_init(void);

/* A thread's state, its counter started at random (IDs of two threads do not collide). */
void serve_api_state_init(struct serve_api *api);

/* True for the routes serve_api_queue() answers. */
static inline bool serve_api_route(uint8_t route)
{
    return route == SERVE_ROUTE_HEALTH || route == SERVE_ROUTE_API_LOGIN ||
           route == SERVE_ROUTE_API_ITEMS || route == SERVE_ROUTE_API_ITEM ||
           route == SERVE_ROUTE_API_OTHER;
}

/* Queues the answer to req. start: the bytes req was parsed from (its offsets count from
 * there); body: its req->content_length body bytes, or NULL when they were not kept (over
 * SERVE_API_MAX_BODY: 413; then start may be NULL too). close, now, not_before as for
 * serve_reply_queue(). Returns SERVE_AFTER_NEXT or SERVE_AFTER_CLOSE. */
enum serve_after serve_api_queue(struct serve_outq *q, struct serve_api *api,
                                 const struct serve_request *req, const char *start,
                                 const char *body, bool close, uint64_t now,
                                 uint64_t not_before);

/* The token of a user name (out: SERVE_API_TOKEN_LEN bytes, no NUL); its check, which sets
 * *user_hash (u above). Exposed for the unit tests. */
void serve_api_token(const char *user, size_t n, char *out);
bool serve_api_token_check(const char *token, size_t n, uint64_t *user_hash);

#endif
