/* Rules of the RISC-V specifications that QEMU 7.2 does not follow, checked on tern
 * only. Each check names the rule and what QEMU 7.2 does instead; the other test
 * files check everything QEMU does get right.
 *
 * 1-5 Zicsr (unprivileged spec 9.1): CSRRS/CSRRC with an rs1 other than x0 are writes
 *     even when rs1 holds 0 ("the instruction will still attempt to write the
 *     unmodified value back to the CSR"), so on a read-only CSR they raise illegal
 *     instruction (privileged spec 2.1), mtval = the instruction bits. QEMU 7.2 decides
 *     from the mask value and does not trap. CSRRSI/CSRRCI with uimm = 0 do not write.
 * 6-7 A (8.4) and privileged spec table 3.6: an AMO that hits no device raises a
 *     store/AMO access fault (cause 7), mtval = the address. QEMU 7.2 performs the AMO
 *     as a load then a store and reports a load access fault (cause 5).
 */
// qemu: no — these are the spec rules QEMU 7.2 breaks (CSRRS/CSRRC rs1!=x0 holding 0 on a read-only CSR does not trap; an AMO access fault is reported as cause 5)
#include "test_macros.h"

#define HOLE 0x40000000          /* no device here on the spike board */

TEST_BEGIN
    li a1, 0
    TEST_ILLEGAL(1, csrrs a0, mhartid, a1)
    TEST_ILLEGAL(2, csrrc a0, mvendorid, a1)
    TEST_ILLEGAL(3, csrrs x0, cycle, a1)
    TEST_ILLEGAL(4, csrrc a0, instret, a1)
    TEST_NUM(5)                          /* the immediate forms with 0 only read */
    csrrsi a0, mhartid, 0
    csrrci a0, mimpid, 0
    csrrs a0, mhartid, x0

    li a1, HOLE
    TEST_EXC(6, CAUSE_STORE_ACCESS, HOLE, amoadd.w a0, a2, (a1))
    addi a1, a1, 8
    TEST_EXC(7, CAUSE_STORE_ACCESS, HOLE + 8, amoswap.d a0, a2, (a1))
TEST_END
