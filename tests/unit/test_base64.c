/* base64.c: RFC 4648's test vectors (section 10), and bytes past 0x7f. */
#include "check.h"

#include <string.h>

#include "base64.h"

static void rfc4648_vectors(void)
{
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char out[16];
        size_t n = strlen(in[i]);
        CHECK_EQ_U(base64_encode(out, (const uint8_t *)in[i], n), BASE64_LEN(n));
        CHECK(!strcmp(out, want[i]));
    }
    static const uint8_t high[] = {0xfb, 0xff, 0xbf};  /* the last two letters of the alphabet */
    char out[8];
    base64_encode(out, high, 3);
    CHECK(!strcmp(out, "+/+/"));
}

int main(void)
{
    RUN(rfc4648_vectors);
    CHECK_EXIT();
}
