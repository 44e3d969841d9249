/* A small regular-expression engine for `regex:` captures: compiled once at plan time,
 * matched with no allocation and in time linear in the subject (a Pike VM: every thread
 * of a Thompson NFA advanced in lock step, no backtracking), so that a hostile response
 * cannot make a worker spin. Linear is not small: the work is up to about twice the
 * program's size per byte, and a program of 4096 instructions (`.{1000}x`) over 1 MiB
 * would take seconds, during which the worker drives no other connection. So a match
 * counts its steps and gives up past REGEX_MAX_STEPS (below).
 *
 * Syntax (POSIX ERE with the Perl shorthands people write in load-test captures):
 *   literals; `.` (any byte, newline included); `[a-z0-9_]`, `[^"]`, `[]x]`, `[x-]`,
 *   `[[:alpha:]]` (alnum alpha blank cntrl digit graph lower print punct space upper
 *   xdigit); `\d \w \s \D \W \S` (also inside brackets); `\n \t \r \f \v`; a backslash
 *   before any other non-alphanumeric byte is that byte (`\. \\ \/ \" \[ \{`), inside
 *   brackets too; `*  +  ?  {m}  {m,}  {m,n}` (m, n <= 1000), each optionally followed by
 *   `?` to be lazy; `|`; `( )` capturing, `(?: )` not; `^` and `$` (start and end of the
 *   subject only: there is no multi-line mode, and `$` does not match before a final
 *   newline). A `{` that does not start a valid bound is a literal `{` (handy in JSON).
 *   Bytes, not characters: no locale, no case folding. No backreferences, no \b.
 *
 * Semantics: leftmost-first, as Perl, PCRE, RE2 and Go: the match starts at the leftmost
 * position where any match starts (as POSIX); among the matches starting there, the one
 * a backtracking matcher would find first: greedy repeats take as much as lets the rest
 * match, lazy ones as little, and `a|ab` prefers `a`. So `"token":"([^"]+)"` takes the
 * token, `<title>(.*)</title>` runs to the last </title>, `<b>(.*?)</b>` to the first.
 *
 * Ownership: regex_compile() returns a compiled regex owned by the caller, released with
 * regex_destroy() (accepts NULL). It is read-only afterwards and may be shared between
 * threads; each thread matches with its own scratch area of regex_scratch_size() bytes.
 */
#ifndef BARRAGE_REGEX_VM_H
#define BARRAGE_REGEX_VM_H

#include <stddef.h>
#include <stdint.h>

#define REGEX_MAX_PROG 4096   /* instructions, after repeats are expanded */
#define REGEX_MAX_REPEAT 1000 /* m and n in {m,n} */
#define REGEX_MAX_DEPTH 100   /* nested groups */
#define REGEX_NONE SIZE_MAX   /* a span of a group that took no part in the match */
/* Steps a match may take: a step is a thread at one byte, or an instruction a thread
 * enters on its way to the next byte. Ordinary captures over 1 MiB take 1 to 8 per byte
 * (`"token":"([^"]+)"` on a JSON body about 1, `<body>(.*)</body>` about 6.5); the whole
 * budget is some 25 to 60 ms of one core. */
#define REGEX_MAX_STEPS (1 << 24)
#define REGEX_OVER_BUDGET (-2)    /* regex_match(): it gave up past REGEX_MAX_STEPS */

struct regex;

/* Where a match is: [start, end) of the whole match and of group 1 (REGEX_NONE for both
 * ends when the pattern has no group 1 or it took no part). */
struct regex_span {
    size_t start, end;
    size_t g1_start, g1_end;
};

/* Compiles pattern. Returns the regex, or NULL with a one-line reason in err giving the
 * 1-based position in pattern, e.g. "bad regex at 2: unmatched (". */
struct regex *regex_compile(const char *pattern, char *err, size_t errlen);
void regex_destroy(struct regex *re);

/* Capturing groups in the pattern. */
unsigned regex_groups(const struct regex *re);
/* Bytes of scratch regex_match() needs for this regex: 100 per instruction, at most
 * about 400 KiB. */
size_t regex_scratch_size(const struct regex *re);

/* Searches s[0, len) for the leftmost-first match. scratch: regex_scratch_size() bytes
 * (any alignment) that the call may overwrite. Returns 1 with *m set, 0 for no match,
 * -1 if scratch_cap is too small, REGEX_OVER_BUDGET (with *m undefined) once it has taken
 * over REGEX_MAX_STEPS steps, whether or not a match was found by then: the same pattern
 * and subject always give the same result. Allocates nothing. */
int regex_match(const struct regex *re, const char *s, size_t len, void *scratch, size_t scratch_cap,
                struct regex_span *m);

#endif
