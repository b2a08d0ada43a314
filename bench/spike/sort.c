/* sort: sorting 256 Ki pseudo-random 64-bit keys, several rounds.
 *
 * Alternates a recursive quicksort (median of three, Hoare partition, insertion sort
 * for short runs) and a top-down mergesort with a scratch buffer: data-dependent
 * branches that no predictor gets right, loads and stores over 4 MiB of RAM
 * (a software TLB and the memory fast path matter), recursion.
 *
 * Checks, after every round: the keys are in order and are a permutation of the
 * input (a sum and an order-independent hash of mixed keys are unchanged); at the end
 * the checksum of sampled keys equals the reference (same value from a host build of
 * this file). */
#include "bench.h"

#ifndef ROUNDS
#define ROUNDS 28
#endif
#define N (256 * 1024)
#ifndef EXPECTED
#define EXPECTED 0xaba6517436da28aeULL /* QEMU 7.2 and a host build agree */
#endif

static uint64_t keys[N];
static uint64_t scratch[N];

static void insertion_sort(uint64_t *a, long n)
{
    for (long i = 1; i < n; i++) {
        uint64_t v = a[i];
        long j = i - 1;
        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static inline void swap(uint64_t *a, uint64_t *b)
{
    uint64_t t = *a;
    *a = *b;
    *b = t;
}

static void quicksort(uint64_t *a, long n)
{
    while (n > 16) {
        long m = n / 2;
        if (a[m] < a[0])
            swap(&a[m], &a[0]);
        if (a[n - 1] < a[0])
            swap(&a[n - 1], &a[0]);
        if (a[n - 1] < a[m])
            swap(&a[n - 1], &a[m]);
        uint64_t pivot = a[m];
        long i = -1, j = n;
        for (;;) {
            do
                i++;
            while (a[i] < pivot);
            do
                j--;
            while (a[j] > pivot);
            if (i >= j)
                break;
            swap(&a[i], &a[j]);
        }
        /* Recurse into the smaller half, loop on the larger: bounded stack. */
        long left = j + 1;
        if (left < n - left) {
            quicksort(a, left);
            a += left;
            n -= left;
        } else {
            quicksort(a + left, n - left);
            n = left;
        }
    }
    insertion_sort(a, n);
}

static void merge_sort(uint64_t *a, uint64_t *tmp, long n)
{
    if (n <= 16) {
        insertion_sort(a, n);
        return;
    }
    long m = n / 2;
    merge_sort(a, tmp, m);
    merge_sort(a + m, tmp, n - m);
    if (a[m - 1] <= a[m])
        return;
    for (long i = 0; i < m; i++)
        tmp[i] = a[i];
    long i = 0, j = m, k = 0;
    while (i < m && j < n)
        a[k++] = tmp[i] <= a[j] ? tmp[i++] : a[j++];
    while (i < m)
        a[k++] = tmp[i++];
}

static inline uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ULL;
    x ^= x >> 27;
    x *= 0x81dadef4bc2dd44dULL;
    return x ^ (x >> 33);
}

int main(void)
{
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    uint64_t checksum = 0;
    int rounds = ROUNDS;
    OPAQUE(rounds);
    for (int r = 0; r < rounds; r++) {
        uint64_t sum = 0, bag = 0;
        for (long i = 0; i < N; i++) {
            /* Every fourth round has many duplicate keys. */
            uint64_t k = rng_next(&seed);
            if (r % 4 == 3)
                k &= 0xfff;
            keys[i] = k;
            sum += k;
            bag += mix(k);
        }
        if (r % 2 == 0)
            quicksort(keys, N);
        else
            merge_sort(keys, scratch, N);
        uint64_t sum2 = 0, bag2 = 0;
        for (long i = 0; i < N; i++) {
            if (i > 0 && keys[i - 1] > keys[i])
                return fail("sort", "keys out of order");
            sum2 += keys[i];
            bag2 += mix(keys[i]);
        }
        if (sum2 != sum || bag2 != bag)
            return fail("sort", "keys are not a permutation of the input");
        for (long i = 0; i < N; i += 4099)
            checksum = mix(checksum ^ keys[i]);
    }
    report("median", keys[N / 2]);
    return finish("sort", checksum, EXPECTED);
}
