/* The demo guest: draws the Mandelbrot set in ASCII through the HTIF console, then
 * reports how many instructions it retired (minstret) and exits with status 0.
 * Exercises integer, double-precision floating point, loads/stores and CSRs. */
#include "htif.h"

static const char shades[] = " .:-=+*#%@";

int main(void)
{
    htif_puts("tern: Mandelbrot set on the spike board (RV64GC, M-mode)\n\n");
    for (int row = 0; row < 24; row++) {
        double ci = -1.2 + row * (2.4 / 23);
        for (int col = 0; col < 72; col++) {
            double cr = -2.1 + col * (3.0 / 71);
            double zr = 0, zi = 0;
            int n = 0;
            while (n < 200 && zr * zr + zi * zi < 4.0) {
                double t = zr * zr - zi * zi + cr;
                zi = 2 * zr * zi + ci;
                zr = t;
                n++;
            }
            htif_putc(n == 200 ? '@' : shades[n % 9]);
        }
        htif_putc('\n');
    }
    uint64_t insns;
    __asm__ volatile("csrr %0, minstret" : "=r"(insns));
    htif_puts("\nretired instructions: ");
    htif_putdec(insns);
    htif_putc('\n');
    return 0;
}
