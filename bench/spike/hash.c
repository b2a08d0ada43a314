/* hash: integer hashing over a generated buffer.
 *
 * SHA-256 (32-bit adds, shifts and rotates built from shift+or, since rv64gc has no
 * rotate instruction, plus `addw`-style sign extension everywhere), FNV-1a 64 (byte
 * loads and a 64-bit multiply per byte) and an xxHash64-style 4-lane mixer (64-bit
 * loads, multiplies and rotates), each over the same 64 KiB buffer many times. The
 * buffer is changed between rounds so that nothing is loop-invariant.
 *
 * Checks: the SHA-256 and FNV-1a standard test vectors first, then the checksum of
 * the whole run against a reference (same value from a host build of this file). */
#include "bench.h"

#ifndef ROUNDS
#define ROUNDS 1200
#endif
#define BUF_SIZE (64 * 1024)
#ifndef EXPECTED
#define EXPECTED 0x7246af537cdaf8e4ULL /* QEMU 7.2 and a host build agree */
#endif

/* Stored as 64-bit words (written and read as such); the byte-wise hashes read it
 * through an unsigned char pointer, which C allows for any object. */
static uint64_t words[BUF_SIZE / 8];
#define buf ((const uint8_t *)words)

/* ---- SHA-256 (FIPS 180-4) ---- */

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror32(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d;
    h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

/* Whole-message SHA-256; the digest is left as eight big-endian words. */
static void sha256(uint32_t h[8], const uint8_t *msg, size_t len)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    for (int i = 0; i < 8; i++)
        h[i] = iv[i];
    size_t n = len;
    for (; n >= 64; n -= 64, msg += 64)
        sha256_block(h, msg);
    uint8_t tail[128];
    size_t t = 0;
    for (; t < n; t++)
        tail[t] = msg[t];
    tail[t++] = 0x80;
    size_t total = (t + 8 <= 64) ? 64 : 128;
    while (t < total - 8)
        tail[t++] = 0;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 7; i >= 0; i--)
        tail[t++] = (uint8_t)(bits >> (8 * i));
    sha256_block(h, tail);
    if (total == 128)
        sha256_block(h, tail + 64);
}

/* ---- FNV-1a 64 ---- */

static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* ---- xxHash64-style 4-lane mixer (same shape and primes, not bit-exact) ---- */

#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL
#define P3 0x165667B19E3779F9ULL

static inline uint64_t rol64(uint64_t x, int n) { return (x << n) | (x >> (64 - n)); }

static uint64_t xxmix64(const uint8_t *p, size_t n, uint64_t seed)
{
    const uint64_t *q = (const uint64_t *)p;
    uint64_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
    for (size_t i = 0; i + 4 <= n / 8; i += 4) {
        v1 = rol64(v1 + q[i] * P2, 31) * P1;
        v2 = rol64(v2 + q[i + 1] * P2, 31) * P1;
        v3 = rol64(v3 + q[i + 2] * P2, 31) * P1;
        v4 = rol64(v4 + q[i + 3] * P2, 31) * P1;
    }
    uint64_t h = rol64(v1, 1) + rol64(v2, 7) + rol64(v3, 12) + rol64(v4, 18) + n;
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

static int self_test(void)
{
    static const uint8_t abc[3] = {'a', 'b', 'c'};
    static const uint32_t abc_digest[8] = {0xba7816bf, 0x8f01cfea, 0x414140de, 0x5dae2223,
                                           0xb00361a3, 0x96177a9c, 0xb410ff61, 0xf20015ad};
    static const uint8_t m56[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    static const uint32_t m56_digest[8] = {0x248d6a61, 0xd20638b8, 0xe5c02693, 0x0c3e6039,
                                           0xa33ce459, 0x64ff2167, 0xf6ecedd4, 0x19db06c1};
    uint32_t h[8];
    sha256(h, abc, 3);
    for (int i = 0; i < 8; i++)
        if (h[i] != abc_digest[i])
            return 0;
    sha256(h, m56, 56);
    for (int i = 0; i < 8; i++)
        if (h[i] != m56_digest[i])
            return 0;
    static const uint8_t foobar[6] = {'f', 'o', 'o', 'b', 'a', 'r'};
    return fnv1a64(foobar, 0) == 0xcbf29ce484222325ULL &&
           fnv1a64(foobar, 1) == 0xaf63db4c8601ead9ULL &&
           fnv1a64(foobar, 6) == 0x85944171f73967e8ULL;
}

int main(void)
{
    if (!self_test())
        return fail("hash", "SHA-256/FNV-1a test vectors");

    uint64_t seed = 0x123456789abcdefULL;
    for (size_t i = 0; i < BUF_SIZE / 8; i++)
        words[i] = rng_next(&seed);

    uint32_t h[8] = {0};
    uint64_t fnv = 0, xx = 0, sum = 0;
    int rounds = ROUNDS;
    OPAQUE(rounds);
    for (int r = 0; r < rounds; r++) {
        sha256(h, buf, BUF_SIZE);
        fnv = fnv1a64(buf, BUF_SIZE);
        xx = xxmix64(buf, BUF_SIZE, fnv);
        /* Feed the results back: the next round hashes different data. */
        for (int i = 0; i < 4; i++)
            words[(r * 4 + i) % (BUF_SIZE / 8)] ^= (uint64_t)h[2 * i] << 32 | h[2 * i + 1];
        words[(r * 7 + 100) % (BUF_SIZE / 8)] += fnv ^ xx;
        sum = rol64(sum, 5) ^ ((uint64_t)h[0] << 32 | h[7]) ^ fnv ^ xx;
    }
    report("sha256[0..2]", (uint64_t)h[0] << 32 | h[1]);
    report("fnv1a64", fnv);
    report("xxmix64", xx);
    return finish("hash", sum, EXPECTED);
}
