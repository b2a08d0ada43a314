/* The `virt` golden program: puts the board's devices into a state worth keeping,
 * says "golden-virt: ready" (where the golden snapshot is taken), then waits for a
 * byte on the UART and checks that every device still holds what it was given.
 *
 *   tern run --machine virt --cpus 1 --memory 16 --device virtio-rng \
 *       --bios virt_devices.elf
 *
 * In the snapshot: the UART with its line control, scratch register and receive
 * interrupt enabled; the PLIC routing the UART's source 10 to hart 0's M-mode
 * context; a CLINT timer armed 3 s ahead; the RTC with an alarm an hour ahead; a
 * virtio-rng device with a live queue that has served one request; the hart in `wfi`
 * with MEIE enabled. After the restore, a byte on the UART raises source 10, the
 * hart claims it, a second random request completes on the same queue, the timer
 * fires, and the program powers off (exit status 0). A failed check prints
 * "golden-virt: FAIL <what>" and fails with a distinct code. */
#include <stdint.h>

#define UART 0x10000000UL
#define PLIC 0x0c000000UL
#define CLINT 0x02000000UL
#define RTC 0x00101000UL
#define SYSCON 0x00100000UL
#define RNG 0x10001000UL

#define MIP_MTIP (1UL << 7)
#define MIP_MEIP (1UL << 11)

static inline uint8_t r8(uint64_t a) { return *(volatile uint8_t *)a; }
static inline void w8(uint64_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline uint32_t r32(uint64_t a) { return *(volatile uint32_t *)a; }
static inline void w32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint64_t r64(uint64_t a) { return *(volatile uint64_t *)a; }
static inline void w64(uint64_t a, uint64_t v) { *(volatile uint64_t *)a = v; }
#define fence() __asm__ volatile("fence" ::: "memory")

static void putc_(char c)
{
    while (!(r8(UART + 5) & 0x20))
        ;
    w8(UART, (uint8_t)c);
}

static void puts_(const char *s)
{
    while (*s)
        putc_(*s++);
}

static void puthex(uint64_t v)
{
    for (int i = 60; i >= 0; i -= 4)
        putc_("0123456789abcdef"[(v >> i) & 15]);
}

void virt_exit(int code)
{
    w32(SYSCON, code == 0 ? 0x5555 : (((uint32_t)code << 16) | 0x3333));
    for (;;)
        __asm__ volatile("wfi");
}

void virt_unexpected_trap(uint64_t cause, uint64_t epc)
{
    puts_("golden-virt: FAIL unexpected trap mcause=");
    puthex(cause);
    puts_(" mepc=");
    puthex(epc);
    puts_("\n");
    virt_exit(0x7f);
}

static int fail(const char *what, int code)
{
    puts_("golden-virt: FAIL ");
    puts_(what);
    puts_("\n");
    return code;
}

/* One split virtqueue of 8 entries. */
#define QSIZE 8
struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};
static struct desc descs[QSIZE] __attribute__((aligned(4096)));
static struct {
    uint16_t flags, idx, ring[QSIZE], used_event;
} avail __attribute__((aligned(4096)));
static struct {
    uint16_t flags, idx;
    struct {
        uint32_t id, len;
    } ring[QSIZE];
    uint16_t avail_event;
} used __attribute__((aligned(4096)));
static uint8_t random_bytes[2][16];

/* Asks the entropy device for 16 bytes into buffer `n`; returns how many it gave. */
static uint32_t rng_request(int n)
{
    descs[n].addr = (uint64_t)random_bytes[n];
    descs[n].len = sizeof random_bytes[n];
    descs[n].flags = 2; /* device writes */
    descs[n].next = 0;
    avail.ring[avail.idx % QSIZE] = (uint16_t)n;
    fence();
    avail.idx++;
    fence();
    w32(RNG + 0x050, 0);
    for (int spin = 0; spin < 1000000; spin++) {
        fence();
        if (*(volatile uint16_t *)&used.idx == avail.idx)
            return used.ring[(avail.idx - 1) % QSIZE].len;
    }
    return 0;
}

static int rng_setup(void)
{
    if (r32(RNG) != 0x74726976 || r32(RNG + 4) != 2 || r32(RNG + 8) != 4)
        return fail("no virtio-rng in slot 0", 10);
    w32(RNG + 0x070, 0);
    w32(RNG + 0x070, 1);
    w32(RNG + 0x070, 3);
    w32(RNG + 0x014, 1);
    if (!(r32(RNG + 0x010) & 1))
        return fail("VIRTIO_F_VERSION_1 not offered", 11);
    w32(RNG + 0x024, 1);
    w32(RNG + 0x020, 1);
    w32(RNG + 0x024, 0);
    w32(RNG + 0x020, 0);
    w32(RNG + 0x070, 3 | 8);
    if (!(r32(RNG + 0x070) & 8))
        return fail("FEATURES_OK refused", 12);
    w32(RNG + 0x030, 0);
    if (r32(RNG + 0x034) < QSIZE)
        return fail("queue too small", 13);
    w32(RNG + 0x038, QSIZE);
    w32(RNG + 0x080, (uint32_t)(uint64_t)descs);
    w32(RNG + 0x084, (uint32_t)((uint64_t)descs >> 32));
    w32(RNG + 0x090, (uint32_t)(uint64_t)&avail);
    w32(RNG + 0x094, (uint32_t)((uint64_t)&avail >> 32));
    w32(RNG + 0x0a0, (uint32_t)(uint64_t)&used);
    w32(RNG + 0x0a4, (uint32_t)((uint64_t)&used >> 32));
    w32(RNG + 0x044, 1);
    w32(RNG + 0x070, 3 | 8 | 4);
    return 0;
}

static uint64_t rtc_now(void)
{
    uint64_t lo = r32(RTC + 0x00);
    uint64_t hi = r32(RTC + 0x04);
    return (hi << 32) | lo;
}

int main(void)
{
    /* UART: 8N1, FIFO on, receive interrupt, a scratch value. */
    w8(UART + 3, 0x03);
    w8(UART + 2, 0x01);
    w8(UART + 1, 0x01);
    w8(UART + 7, 0x5a);
    puts_("golden-virt: start\n");

    /* PLIC: source 10 (the UART) at priority 1 to context 0 (hart 0, M-mode). */
    w32(PLIC + 4 * 10, 1);
    w32(PLIC + 0x2000, 1u << 10);
    w32(PLIC + 0x200000, 0);

    /* RTC: an alarm an hour from now, without its interrupt. */
    uint64_t before = rtc_now();
    uint64_t alarm = before + 3600ULL * 1000000000ULL;
    w32(RTC + 0x10, 0);
    w32(RTC + 0x0c, (uint32_t)(alarm >> 32));
    w32(RTC + 0x08, (uint32_t)alarm);

    int e = rng_setup();
    if (e)
        return e;
    if (rng_request(0) != 16)
        return fail("first random request", 14);

    /* CLINT: a timer 3 s ahead (10 MHz), watched in mip without its interrupt. */
    uint64_t deadline = r64(CLINT + 0xbff8) + 30000000ULL;
    w64(CLINT + 0x4000, deadline);

    /* Wait for the UART's interrupt through the PLIC: wfi wakes on MEIP (enabled
     * in mie) although mstatus.MIE stays off, so no handler runs. */
    __asm__ volatile("csrw mie, %0" ::"r"(MIP_MEIP));
    puts_("golden-virt: ready\n");
    uint64_t mip;
    do {
        __asm__ volatile("wfi");
        __asm__ volatile("csrr %0, mip" : "=r"(mip));
    } while (!(mip & MIP_MEIP));

    uint32_t source = r32(PLIC + 0x200004);
    if (source != 10)
        return fail("PLIC claim is not the UART", 20);
    if (!(r8(UART + 5) & 1))
        return fail("no byte in the UART", 21);
    uint8_t byte = r8(UART);
    w32(PLIC + 0x200004, source);
    puts_("golden-virt: got ");
    putc_((char)byte);
    putc_('\n');

    if (r8(UART + 7) != 0x5a || r8(UART + 3) != 0x03)
        return fail("UART registers", 22);
    if (r32(PLIC + 4 * 10) != 1 || r32(PLIC + 0x2000) != (1u << 10))
        return fail("PLIC registers", 23);
    if (r32(RTC + 0x18) != 1)
        return fail("RTC alarm disarmed", 24);
    if (rtc_now() < before)
        return fail("RTC time went back", 25);
    if (r64(CLINT + 0x4000) != deadline)
        return fail("CLINT mtimecmp", 26);
    if ((r32(RNG + 0x070) & 0xf) != 0xf || r32(RNG + 0x044) != 1)
        return fail("virtio-rng status or queue", 27);
    if (rng_request(1) != 16)
        return fail("second random request", 28);

    do {
        __asm__ volatile("csrr %0, mip" : "=r"(mip));
    } while (!(mip & MIP_MTIP));
    if (r64(CLINT + 0xbff8) < deadline)
        return fail("timer fired early", 29);
    puts_("golden-virt: ok\n");
    return 0;
}
