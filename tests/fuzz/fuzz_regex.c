/* libFuzzer target for the capture regex engine (regex_vm.h).
 *
 * Input: a pattern, a NUL byte, then the subject (no NUL: the whole input is a pattern
 * and the subject is empty). Patterns that compile are matched against the subject,
 * which sits in an exact-size heap block so that ASan sees a read past it, with scratch
 * of exactly regex_scratch_size() bytes at an odd address. Checks: the spans are in
 * order and inside the subject; without a `$` in the pattern, the subject cut at the
 * match's end gives the same match (the threads up to there are the same, and the
 * first of them to match still matches); one byte less of scratch is refused; a match
 * gives up (REGEX_OVER_BUDGET) only where the work can pass REGEX_MAX_STEPS, at most 2
 * steps per instruction per byte (within an input of 4096 bytes, only a big pattern on
 * a subject of some KB gets there).
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Iengine tests/fuzz/fuzz_regex.c engine/regex_vm.c
 */
#include "regex_vm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *why, const char *pat)
{
    fprintf(stderr, "fuzz_regex: %s (pattern '%s')\n", why, pat);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    const uint8_t *nul = memchr(data, 0, size);
    size_t plen = nul ? (size_t)(nul - data) : size;
    char *pat = malloc(plen + 1);
    memcpy(pat, data, plen);
    pat[plen] = '\0';
    size_t slen = nul ? size - plen - 1 : 0;
    char *subj = malloc(slen ? slen : 1);
    if (slen) memcpy(subj, nul + 1, slen);

    char err[160];
    struct regex *re = regex_compile(pat, err, sizeof(err));
    if (!re) {
        if (strncmp(err, "bad regex at ", 13) && strcmp(err, "out of memory")) die("an error without a position", pat);
        for (const char *p = err; *p; p++)
            if ((unsigned char)*p < 0x20) die("a control character in the message", pat);
        free(pat);
        free(subj);
        return 0;
    }
    size_t need = regex_scratch_size(re);
    char *scratch = malloc(need + 1);
    struct regex_span m;
    int rc = regex_match(re, subj, slen, scratch + 1, need, &m);
    if (rc == -1) die("refused its own scratch size", pat);
    if (rc == REGEX_OVER_BUDGET) {
        size_t nprog = need / 100;  /* 100 bytes of scratch per instruction, 48 more */
        if (2 * nprog * (slen + 1) <= REGEX_MAX_STEPS) die("gave up on too little work", pat);
    } else if (rc != 0 && rc != 1) die("an unknown result", pat);
    if (regex_match(re, subj, slen, scratch + 1, need - 1, &m) != -1) die("took too little scratch", pat);
    if (rc == 1) {
        if (m.start > m.end || m.end > slen) die("match span out of order", pat);
        if ((m.g1_start == REGEX_NONE) != (m.g1_end == REGEX_NONE)) die("half a group span", pat);
        if (m.g1_start != REGEX_NONE && (m.g1_start > m.g1_end || m.g1_end > slen)) die("group span out of order", pat);
        if (m.g1_start != REGEX_NONE && regex_groups(re) == 0) die("a group 1 without groups", pat);
    }
    /* the same match again on the subject cut at the match's end */
    if (rc == 1 && !strchr(pat, '$')) {
        struct regex_span m2;
        int rc2 = regex_match(re, subj, m.end, scratch + 1, need, &m2);
        if (rc2 != REGEX_OVER_BUDGET && (rc2 != 1 || m2.start != m.start || m2.end != m.end))
            die("a different match once the subject is cut at its end", pat);
    }
    regex_destroy(re);
    free(scratch);
    free(pat);
    free(subj);
    return 0;
}
