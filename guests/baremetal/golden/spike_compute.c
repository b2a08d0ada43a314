/* The `spike` golden program: arms the CLINT timer, says "golden-spike: ready"
 * (where the golden snapshot is taken, mid-computation), computes a checksum over
 * many rounds of a mixing function, checks it, waits for the timer and exits 0.
 *
 *   tern run --machine spike --memory 16 --kernel spike_compute.elf
 *
 * In the snapshot: the hart in the middle of the loop (registers, FPU on), the
 * CLINT timer armed, HTIF mailboxes. The checksum does not depend on where the
 * snapshot interrupts the loop, so a restored run prints the same result. */
#include "htif.h"

#define CLINT 0x02000000UL
#define MIP_MTIP (1UL << 7)
#define ROUNDS 100000000ULL
/* The checksum of ROUNDS rounds (computed on the host with the same code). */
#define EXPECTED 0x9ce31c9b16df9035ULL

static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ULL;
    x ^= x >> 27;
    x *= 0x81dadef4bc2dd44dULL;
    return x ^ (x >> 33);
}

int main(void)
{
    volatile uint64_t *mtime = (volatile uint64_t *)(CLINT + 0xbff8);
    volatile uint64_t *mtimecmp = (volatile uint64_t *)(CLINT + 0x4000);
    uint64_t deadline = *mtime + 20000000ULL; /* 2 s */
    *mtimecmp = deadline;
    htif_puts("golden-spike: ready\n");
    uint64_t sum = 0;
    for (uint64_t i = 0; i < ROUNDS; i++)
        sum += mix(i ^ sum);
    htif_puts("golden-spike: sum ");
    htif_puthex(sum);
    htif_puts("\n");
    if (sum != EXPECTED) {
        htif_puts("golden-spike: FAIL checksum\n");
        return 1;
    }
    uint64_t mip;
    do {
        __asm__ volatile("csrr %0, mip" : "=r"(mip));
    } while (!(mip & MIP_MTIP));
    if (*mtime < deadline) {
        htif_puts("golden-spike: FAIL timer fired early\n");
        return 2;
    }
    htif_puts("golden-spike: ok\n");
    return 0;
}
