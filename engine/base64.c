/* Standard base64 encoding (see base64.h). */
#include "base64.h"

size_t base64_encode(char *out, const uint8_t *in, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = abc[w >> 18];
        out[o++] = abc[(w >> 12) & 63];
        out[o++] = i + 1 < n ? abc[(w >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? abc[w & 63] : '=';
    }
    out[o] = 0;
    return o;
}
