/* Zicsr: the CSR instructions (unprivileged spec chapter 9 "Zicsr"; privileged spec
 * 2.1 CSR address mapping conventions).
 *
 * - CSRRW/CSRRS/CSRRC and the immediate forms return the old value and write
 *   new / old|mask / old&~mask; the 5-bit immediate is zero-extended; rd == rs1 works.
 * - CSRRS/CSRRC with rs1 = x0, and CSRRSI/CSRRCI with uimm = 0, do not write, so they
 *   read read-only CSRs (mvendorid, marchid, mimpid, mhartid, mconfigptr, cycle,
 *   instret) without trapping. (QEMU's spike board has no `time` CSR: counters_time.S
 *   tests it on tern.)
 * - Any write to a read-only CSR (address bits 11:10 = 11) traps with illegal
 *   instruction: CSRRW even with rd = x0, CSRRS/CSRRC with a nonzero mask, CSRRWI with
 *   uimm = 0. mtval = the instruction bits. (CSRRS/CSRRC with an rs1 other than x0
 *   that holds 0 must trap too, but QEMU 7.2 does not: qemu_deviations.S tests that
 *   on tern.)
 * - An unimplemented CSR number is an illegal instruction.
 * - A CSR of a higher privilege level is illegal from U-mode (2.1: bits 9:8).
 */
#include "test_macros.h"

TEST_BEGIN

    /* ---- read/write/set/clear on a plain read-write CSR (mscratch) ---- */
    TEST_NUM(1)
    li a1, 0x0123456789abcdef
    csrw mscratch, a1
    CHECK_CSR mscratch, 0x0123456789abcdef
    TEST_NUM(2)
    li a1, 0xf0f0f0f0f0f0f0f0
    csrrw a0, mscratch, a1
    CHECK a0, 0x0123456789abcdef
    CHECK_CSR mscratch, 0xf0f0f0f0f0f0f0f0
    TEST_NUM(3)
    li a1, 0x0f
    csrrs a0, mscratch, a1
    CHECK a0, 0xf0f0f0f0f0f0f0f0
    CHECK_CSR mscratch, 0xf0f0f0f0f0f0f0ff
    TEST_NUM(4)
    li a1, 0xf0000000000000f0
    csrrc a0, mscratch, a1
    CHECK a0, 0xf0f0f0f0f0f0f0ff
    CHECK_CSR mscratch, 0x00f0f0f0f0f0f00f
    TEST_NUM(5)
    csrrwi a0, mscratch, 31
    CHECK a0, 0x00f0f0f0f0f0f00f
    CHECK_CSR mscratch, 31                   /* zimm zero-extended */
    TEST_NUM(6)
    csrrci a0, mscratch, 0x15
    CHECK a0, 31
    CHECK_CSR mscratch, 0x0a
    TEST_NUM(7)
    li a1, -1
    csrw mscratch, a1
    csrrsi a0, mscratch, 0x10
    CHECK a0, -1
    csrrci a0, mscratch, 0x1f
    CHECK_CSR mscratch, 0xffffffffffffffe0   /* only the low 5 bits cleared */
    TEST_NUM(8)                              /* rd == rs1: old value out, rs1's value in */
    li a1, 0x55
    csrw mscratch, a1
    li a1, 0x66
    csrrw a1, mscratch, a1
    CHECK a1, 0x55
    CHECK_CSR mscratch, 0x66
    TEST_NUM(9)                              /* rs1 = x0 forms read without writing */
    csrrs a0, mscratch, x0
    CHECK a0, 0x66
    csrrc a0, mscratch, x0
    CHECK a0, 0x66
    csrrsi a0, mscratch, 0
    csrrci a0, mscratch, 0
    CHECK_CSR mscratch, 0x66
    TEST_NUM(10)                             /* rd = x0: write only */
    li a1, 0x77
    csrrw x0, mscratch, a1
    CHECK_CSR mscratch, 0x77
    CHECK x0, 0

    /* ---- reading read-only CSRs does not trap ---- */
    TEST_NUM(11)
    csrr a0, mhartid
    CHECK a0, 0
    csrr a0, mvendorid
    csrr a0, marchid
    csrr a0, mimpid
    csrr a0, mconfigptr
    csrrc a0, mhartid, x0
    csrrsi a0, mhartid, 0
    csrrci a0, mhartid, 0
    csrr a0, cycle
    csrr a0, instret

    /* ---- writes to read-only CSRs trap (2.1) ---- */
    li a1, 0
    TEST_ILLEGAL(12, csrw mhartid, x0)               /* CSRRW rd = x0 */
    TEST_ILLEGAL(13, csrrw a0, mvendorid, a1)
    li a1, 1
    TEST_ILLEGAL(14, csrrs a0, mhartid, a1)
    TEST_ILLEGAL(15, csrrc a0, marchid, a1)
    TEST_ILLEGAL(16, csrrwi a0, mimpid, 0)           /* CSRRWI always writes */
    TEST_ILLEGAL(17, csrrsi a0, mhartid, 1)
    TEST_ILLEGAL(18, csrrci a0, mconfigptr, 1)
    TEST_ILLEGAL(19, csrw cycle, a1)                  /* user counters are read-only */
    TEST_ILLEGAL(20, csrs instret, a1)
    TEST_ILLEGAL(21, csrwi time, 0)
    TEST_NUM(22)                                      /* the trapping write left a0 alone */
    li a0, 0x1234
    TRAP_ARM 1f
    csrrw a0, mhartid, a1
    j fail_no_trap
1:  CHECK a0, 0x1234

    /* ---- unimplemented CSR numbers ---- */
    TEST_ILLEGAL(23, csrr a0, 0x8ff)                  /* custom U read/write */
    TEST_ILLEGAL(24, csrr a0, 0x5c0)                  /* custom S read/write */
    TEST_ILLEGAL(25, csrw 0x7cf, a1)                  /* custom M read/write */

    /* ---- privilege (2.1, bits 9:8 of the address): M CSRs from U-mode trap ---- */
    TEST_NUM(26)
    RUN_IN 0, 2f, 3f
2:  csrr a0, mscratch
    j fail
3:  CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 2b
    CHECK_TVAL_INSN
    TEST_NUM(27)                                      /* ...and S CSRs from U-mode */
    RUN_IN 0, 4f, 5f
4:  csrr a0, sscratch
    j fail
5:  CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 4b
    TEST_NUM(28)                                      /* M CSRs from S-mode */
    RUN_IN MSTATUS_MPP_S, 6f, 7f
6:  csrr a0, mstatus
    j fail
7:  CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 6b
    TEST_NUM(29)                                      /* S CSRs from S-mode are fine */
    RUN_IN MSTATUS_MPP_S, 8f, 9f
8:  li a1, 0xabc
    csrw sscratch, a1
    csrr a0, sscratch
    ecall
9:  CHECK_TA TA_CAUSE, CAUSE_SUPERVISOR_ECALL
    CHECK a0, 0xabc

TEST_END
