/* Standard base64 (RFC 4648, section 4: '+', '/', '=' padding), for the HdrHistogram log's
 * lines and a URL's credentials as Basic authorization. */
#ifndef BARRAGE_BASE64_H
#define BARRAGE_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* The encoded length of n bytes, its terminating NUL not counted. */
#define BASE64_LEN(n) (((n) + 2) / 3 * 4)

/* Writes in[0, n) as padded base64 and a NUL into out (BASE64_LEN(n) + 1 bytes); returns
 * its length. */
size_t base64_encode(char *out, const uint8_t *in, size_t n);

#endif
