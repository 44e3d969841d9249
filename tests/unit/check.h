/* Minimal unit-test support: each TEST prints "PASS name" or "FAIL name: why".
 * tests/run.sh counts those lines; a binary that dies without printing counts as a failure. */
#ifndef BARRAGE_CHECK_H
#define BARRAGE_CHECK_H

#include <stdio.h>

static int check_failed_cases;
static int check_case_failed;

#define CHECK(cond)                                                               \
    do {                                                                          \
        if (!(cond)) {                                                            \
            if (!check_case_failed)                                               \
                printf("  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            check_case_failed = 1;                                                \
        }                                                                         \
    } while (0)

#define CHECK_EQ_U(a, b)                                                          \
    do {                                                                          \
        unsigned long long va_ = (unsigned long long)(a), vb_ = (unsigned long long)(b); \
        if (va_ != vb_) {                                                         \
            if (!check_case_failed)                                               \
                printf("  %s:%d: %s == %llu, expected %s == %llu\n", __FILE__,   \
                       __LINE__, #a, va_, #b, vb_);                               \
            check_case_failed = 1;                                                \
        }                                                                         \
    } while (0)

#define RUN(fn)                                                                   \
    do {                                                                          \
        check_case_failed = 0;                                                    \
        fn();                                                                     \
        printf("%s %s\n", check_case_failed ? "FAIL" : "PASS", #fn);             \
        fflush(stdout);                                                           \
        check_failed_cases += check_case_failed;                                  \
    } while (0)

#define CHECK_EXIT() return check_failed_cases ? 1 : 0

#endif
