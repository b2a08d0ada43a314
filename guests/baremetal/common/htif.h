/* HTIF (host-target interface) of the spike board, as implemented by tern and by
 * QEMU's `-machine spike`: the guest writes a command to `tohost`:
 *   bits 63:56 device, 55:48 command, 47:0 payload.
 *   device 0, payload (code << 1) | 1  -> exit with status `code` (0 = pass)
 *   device 1, command 1, payload = ch  -> write byte `ch` to the console
 * The host clears `tohost` once it has taken the command. */
#ifndef TERN_HTIF_H
#define TERN_HTIF_H

#ifndef __ASSEMBLER__
#include <stdint.h>

extern volatile uint64_t tohost;
extern volatile uint64_t fromhost;

static inline void htif_putc(char c)
{
    while (tohost)
        ;
    tohost = (1ULL << 56) | (1ULL << 48) | (uint8_t)c;
    while (tohost)
        ;
    fromhost = 0;
}

static inline void htif_puts(const char *s)
{
    while (*s)
        htif_putc(*s++);
}

static inline void htif_puthex(uint64_t v)
{
    for (int i = 60; i >= 0; i -= 4)
        htif_putc("0123456789abcdef"[(v >> i) & 15]);
}

static inline void htif_putdec(uint64_t v)
{
    char buf[21];
    int n = 0;
    do {
        buf[n++] = '0' + v % 10;
        v /= 10;
    } while (v);
    while (n)
        htif_putc(buf[--n]);
}

__attribute__((noreturn)) static inline void htif_exit(unsigned code)
{
    for (;;)
        tohost = ((uint64_t)code << 1) | 1;
}
#endif
#endif
