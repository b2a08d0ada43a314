/* The golden program for tern's own SBI firmware: an S-mode program on the `virt`
 * board started by tern as the SBI (no --bios), with three harts.
 *
 *   tern run --machine virt --cpus 3 --memory 16 --kernel sbi_harts.elf
 *
 * Hart 0 starts hart 1 through SBI HSM (hart 2 stays stopped), arms its Sstc timer
 * (`stimecmp`) 3 s ahead and says "golden-sbi: ready" (where the golden snapshot is
 * taken: hart 1 running and spinning on a shared word, the firmware holding the
 * harts' HSM states). When the timer interrupt arrives, hart 0 checks the HSM states,
 * releases hart 1, which stops itself through HSM, waits for that, and shuts the
 * machine down through SBI SRST (exit status 0). A failed check prints
 * "golden-sbi: FAIL <what>" and shuts down with a failure. */
#include <stdint.h>

#define EID_LEGACY_PUTCHAR 0x01
#define EID_HSM 0x48534D
#define EID_SRST 0x53525354
#define SIP_STIP (1UL << 5)
#define HSM_STARTED 0
#define HSM_STOPPED 1

struct sbiret {
    long error;
    long value;
};

static struct sbiret sbi(long eid, long fid, long a0, long a1, long a2)
{
    register long x10 __asm__("a0") = a0;
    register long x11 __asm__("a1") = a1;
    register long x12 __asm__("a2") = a2;
    register long x16 __asm__("a6") = fid;
    register long x17 __asm__("a7") = eid;
    __asm__ volatile("ecall"
                     : "+r"(x10), "+r"(x11)
                     : "r"(x12), "r"(x16), "r"(x17)
                     : "memory");
    return (struct sbiret){x10, x11};
}

static void puts_(const char *s)
{
    while (*s)
        sbi(EID_LEGACY_PUTCHAR, 0, *s++, 0, 0);
}

static void puthex(uint64_t v)
{
    for (int i = 60; i >= 0; i -= 4)
        sbi(EID_LEGACY_PUTCHAR, 0, "0123456789abcdef"[(v >> i) & 15], 0, 0);
}

void sbi_exit(int code)
{
    sbi(EID_SRST, 0, 0, code == 0 ? 0 : 1, 0);
    for (;;)
        __asm__ volatile("wfi");
}

void sbi_unexpected_trap(uint64_t cause, uint64_t epc)
{
    puts_("golden-sbi: FAIL unexpected trap scause=");
    puthex(cause);
    puts_(" sepc=");
    puthex(epc);
    puts_("\n");
    sbi_exit(0x7f);
}

static int fail(const char *what, int code)
{
    puts_("golden-sbi: FAIL ");
    puts_(what);
    puts_("\n");
    return code;
}

uint8_t secondary_stack[4096] __attribute__((aligned(16)));
static volatile uint64_t hart1_opaque, hart1_spins, release;

extern char secondary_start[];

void secondary_main(uint64_t hartid, uint64_t opaque)
{
    if (hartid != 1)
        return;
    hart1_opaque = opaque;
    while (!release)
        hart1_spins++;
    sbi(EID_HSM, 1, 0, 0, 0); /* hart_stop: does not return */
}

static uint64_t rdtime(void)
{
    uint64_t t;
    __asm__ volatile("rdtime %0" : "=r"(t));
    return t;
}

int main(void)
{
    puts_("golden-sbi: start\n");
    if (sbi(EID_HSM, 0, 1, (long)secondary_start, 0x5eed).error != 0)
        return fail("hart_start", 10);
    while (hart1_opaque != 0x5eed)
        ;
    uint64_t deadline = rdtime() + 30000000ULL; /* 3 s at 10 MHz */
    __asm__ volatile("csrw 0x14d, %0" ::"r"(deadline)); /* stimecmp */
    /* The timer interrupt wakes wfi (STIE) without being taken (SIE off). */
    __asm__ volatile("csrw sie, %0" ::"r"(SIP_STIP));
    puts_("golden-sbi: ready\n");
    uint64_t sip;
    do {
        __asm__ volatile("wfi");
        __asm__ volatile("csrr %0, sip" : "=r"(sip));
    } while (!(sip & SIP_STIP));
    if (rdtime() < deadline)
        return fail("timer fired early", 12);
    if (sbi(EID_HSM, 2, 1, 0, 0).value != HSM_STARTED)
        return fail("hart 1 is not started", 13);
    if (sbi(EID_HSM, 2, 2, 0, 0).value != HSM_STOPPED)
        return fail("hart 2 is not stopped", 16);
    uint64_t spins = hart1_spins;
    for (int i = 0; i < 1000000 && hart1_spins == spins; i++)
        ;
    if (hart1_spins == spins)
        return fail("hart 1 does not run", 14);
    release = 1;
    for (int i = 0; i < 100000000; i++)
        if (sbi(EID_HSM, 2, 1, 0, 0).value == HSM_STOPPED) {
            puts_("golden-sbi: ok\n");
            return 0;
        }
    return fail("hart 1 did not stop", 15);
}
