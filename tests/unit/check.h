/* check.h: the unit-test harness. One binary per tests/unit/test_<module>.c;
 * each TEST is a function; a test passes when none of its checks failed.
 * The binary ends with "<name>: N passed, M failed" (scripts/run_checks.sh sums them). */
#ifndef KDW_CHECK_H
#define KDW_CHECK_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failed_now;
static int check_passed_total;
static int check_failed_total;

static inline void check_hexdump(const char *label, const void *p, size_t n)
{
    const uint8_t *b = p;
    fprintf(stderr, "    %s (%zu bytes):", label, n);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s%02x", (i % 16) ? " " : "\n      ", b[i]);
    fprintf(stderr, "\n");
}

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);             \
            check_failed_now = 1;                                                                  \
        }                                                                                          \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        uint64_t check_a_ = (uint64_t)(a), check_b_ = (uint64_t)(b);                               \
        if (check_a_ != check_b_) {                                                                \
            fprintf(stderr,                                                                        \
                    "  %s:%d: %s == %s failed: 0x%" PRIx64 " (%" PRIu64 ") != 0x%" PRIx64          \
                    " (%" PRIu64 ")\n",                                                            \
                    __FILE__, __LINE__, #a, #b, check_a_, check_a_, check_b_, check_b_);           \
            check_failed_now = 1;                                                                  \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *check_a_ = (a), *check_b_ = (b);                                               \
        if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {                           \
            fprintf(stderr,                                                                        \
                    "  %s:%d: %s == %s failed:\n    got:      \"%s\"\n"                            \
                    "    expected: \"%s\"\n",                                                      \
                    __FILE__, __LINE__, #a, #b, check_a_ ? check_a_ : "(null)",                    \
                    check_b_ ? check_b_ : "(null)");                                               \
            check_failed_now = 1;                                                                  \
        }                                                                                          \
    } while (0)

#define CHECK_BYTES(got, expected, n)                                                              \
    do {                                                                                           \
        size_t check_n_ = (n);                                                                     \
        if (memcmp((got), (expected), check_n_) != 0) {                                            \
            fprintf(stderr, "  %s:%d: bytes differ: %s vs %s\n", __FILE__, __LINE__, #got,         \
                    #expected);                                                                    \
            check_hexdump("got", (got), check_n_);                                                 \
            check_hexdump("expected", (expected), check_n_);                                       \
            check_failed_now = 1;                                                                  \
        }                                                                                          \
    } while (0)

/* A test is a function of no arguments, run by RUN(name). */
#define TEST(name) static void name(void)

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        check_failed_now = 0;                                                                      \
        fn();                                                                                      \
        if (check_failed_now) {                                                                    \
            fprintf(stderr, "FAIL %s\n", #fn);                                                     \
            check_failed_total++;                                                                  \
        } else {                                                                                   \
            check_passed_total++;                                                                  \
        }                                                                                          \
    } while (0)

/* Prints the closing line; returns the exit status for main. */
static inline int check_summary(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, check_passed_total, check_failed_total);
    return check_failed_total ? 1 : 0;
}

/* Hex digits of s to bytes at out[cap] (other characters, such as spaces,
 * are skipped, so "30 30 ..." reads as written); returns how many bytes s
 * holds, even past cap, where nothing is written. */
static inline size_t check_unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (; *s; s++) {
        int v = (*s >= '0' && *s <= '9')   ? *s - '0'
                : (*s >= 'a' && *s <= 'f') ? *s - 'a' + 10
                : (*s >= 'A' && *s <= 'F') ? *s - 'A' + 10
                                           : -1;
        if (v < 0)
            continue;
        if (hi < 0) {
            hi = v;
            continue;
        }
        if (n < cap)
            out[n] = (uint8_t)(hi << 4 | v);
        n++;
        hi = -1;
    }
    return n;
}

/* The hex bytes of s written at buf + off; returns off + bytes written. */
static inline size_t check_hex(uint8_t *buf, size_t off, const char *s)
{
    return off + check_unhex(s, buf + off, SIZE_MAX);
}

/* A heap copy of exactly n bytes, so ASan catches any read past them. */
static inline uint8_t *check_dup(const void *p, size_t n)
{
    uint8_t *b = malloc(n ? n : 1);
    if (b && n)
        memcpy(b, p, n);
    return b;
}

/* Where ../shared lives (tests run from the repository root). */
static inline const char *check_shared_dir(void)
{
    const char *d = getenv("KDW_SHARED");
    return d ? d : "../shared";
}

#endif
