/* Shared helpers of the spike CPU benchmarks: a pseudo-random generator, output
 * through HTIF, and the final check that turns a wrong result into a non-zero exit
 * status.
 *
 * The programs also build for the host (`cc -O2 -DBENCH_HOST prog.c`) so that the
 * reference checksums of the integer programs can be confirmed without any RISC-V
 * emulator; on the host the output goes to stdout. */
#ifndef TERN_BENCH_H
#define TERN_BENCH_H

#include <stdint.h>
#include <stddef.h>

#ifdef BENCH_HOST
#include <stdio.h>
static inline void out_str(const char *s) { fputs(s, stdout); }
static inline void out_hex(uint64_t v) { printf("%016llx", (unsigned long long)v); }
static inline void out_dec(uint64_t v) { printf("%llu", (unsigned long long)v); }
#else
#include "htif.h"
static inline void out_str(const char *s) { htif_puts(s); }
static inline void out_hex(uint64_t v) { htif_puthex(v); }
static inline void out_dec(uint64_t v) { htif_putdec(v); }
#endif

/* Keeps the compiler from folding a value it could compute at build time. */
#define OPAQUE(x) __asm__ volatile("" : "+r"(x))

/* xorshift64* (Vigna): good enough keys and data, identical on every target. */
static inline uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Prints "NAME: LABEL 0xVALUE" on one line. */
static inline void report(const char *label, uint64_t value)
{
    out_str("  ");
    out_str(label);
    out_str(" = 0x");
    out_hex(value);
    out_str("\n");
}

/* Prints the final checksum and returns main's exit status: 0 if it matches the
 * reference, 1 otherwise. */
static inline int finish(const char *name, uint64_t checksum, uint64_t expected)
{
    out_str(name);
    out_str(": checksum 0x");
    out_hex(checksum);
    if (checksum == expected) {
        out_str(" ok\n");
        return 0;
    }
    out_str(" MISMATCH, expected 0x");
    out_hex(expected);
    out_str("\n");
    return 1;
}

/* Reports a failed self-check (a known answer that is wrong). */
static inline int fail(const char *name, const char *what)
{
    out_str(name);
    out_str(": FAIL: ");
    out_str(what);
    out_str("\n");
    return 1;
}

#endif
