/* Zicsr: CSRRS/CSRRC with an rs1 other than x0 are writes even when rs1 holds 0
 * (unprivileged spec 9.1: "if rs1 specifies a register holding a zero value other
 * than x0, the instruction will still attempt to write the unmodified value back to
 * the CSR"), so on a read-only CSR they raise illegal instruction (privileged spec
 * 2.1), with mtval = the instruction bits. CSRRSI/CSRRCI with uimm = 0 do not write
 * and do not trap.
 *
 * QEMU 7.2 decides "is this a write" from the mask value instead of the register
 * number, and lets these instructions through: this file runs on tern only.
 */
// qemu: no — QEMU 7.2 does not trap CSRRS/CSRRC on a read-only CSR when rs1 != x0 holds 0 (spec 9.1 says it is a write)
#include "test_macros.h"

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
TEST_END
