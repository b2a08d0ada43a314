/* C side of crt0.S. */
#include "htif.h"

void htif_exit_status(int status)
{
    htif_exit((unsigned)status);
}

void crt_unexpected_trap(uint64_t cause, uint64_t epc, uint64_t tval)
{
    htif_puts("unexpected trap: mcause=");
    htif_puthex(cause);
    htif_puts(" mepc=");
    htif_puthex(epc);
    htif_puts(" mtval=");
    htif_puthex(tval);
    htif_puts("\n");
    htif_exit(0x7f);
}
