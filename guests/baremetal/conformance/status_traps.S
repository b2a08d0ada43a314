/* mstatus trap controls for S-mode: TVM, TW, TSR (privileged spec 3.1.6.5) and WFI
 * (3.3.3).
 *
 * - TVM = 1: reading or writing satp and executing SFENCE.VMA in S-mode raise illegal
 *   instruction (mtval = the instruction bits); M-mode is not affected. TVM = 0: S-mode
 *   may do both.
 * - TW = 1: WFI in S-mode raises illegal instruction (QEMU does so at once; the spec
 *   allows a bounded wait first, and here nothing would ever wake it). TW = 0: WFI in
 *   S-mode returns once an interrupt is pending and enabled in mie, even when that
 *   interrupt cannot be taken (delegated, sstatus.SIE = 0). M-mode WFI ignores TW.
 * - TSR = 1: SRET in S-mode raises illegal instruction; SRET in M-mode still works.
 * - TVM, TW, TSR are not visible in sstatus.
 */
#include "test_macros.h"

TEST_BEGIN
    csrw satp, zero

    /* ---- TVM ---- */
    li t0, MSTATUS_TVM
    csrs mstatus, t0
    TEST_NUM(1)
    RUN_IN MSTATUS_MPP_S, 1f, 2f
1:  csrr a0, satp
    j fail
2:  CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 1b
    CHECK_TVAL_INSN
    TEST_NUM(2)
    RUN_IN MSTATUS_MPP_S, 3f, 4f
3:  csrw satp, zero
    j fail
4:  CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 3b
    TEST_NUM(3)
    RUN_IN MSTATUS_MPP_S, 5f, 6f
5:  sfence.vma
    j fail
6:  CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 5b
    CHECK_TVAL_INSN
    TEST_NUM(4)
    RUN_IN MSTATUS_MPP_S, 7f, 8f
7:  sfence.vma a0, a1
    j fail
8:  CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    TEST_NUM(5)                          /* M-mode ignores TVM */
    csrr a0, satp
    csrw satp, zero
    sfence.vma
    TEST_NUM(6)                          /* not visible in sstatus */
    csrr a0, sstatus
    li t0, MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR
    and a0, a0, t0
    CHECK a0, 0
    li t0, MSTATUS_TVM
    csrc mstatus, t0
    TEST_NUM(7)                          /* TVM = 0: S-mode may use satp and SFENCE.VMA */
    RUN_IN MSTATUS_MPP_S, 9f, 10f
9:  csrr a0, satp
    csrw satp, zero
    sfence.vma
    ecall
10: CHECK_TA TA_CAUSE, CAUSE_SUPERVISOR_ECALL

    /* ---- TW ---- */
    li t0, MSTATUS_TW
    csrs mstatus, t0
    TEST_NUM(8)
    RUN_IN MSTATUS_MPP_S, 11f, 12f
11: wfi
    j fail
12: CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 11b
    CHECK_TVAL_INSN
    /* an interrupt pending and enabled in mie, but not taken anywhere: SSI delegated
     * to S with sstatus.SIE = 0, and M-mode's MIE = 0 */
    li t0, MIP_SSIP
    csrw mideleg, t0
    csrw mie, t0
    csrs mip, t0
    csrwi sstatus, 0
    TEST_NUM(9)                          /* M-mode WFI ignores TW, returns (pending) */
    wfi
    TEST_NUM(10)                         /* TW = 0: S-mode WFI returns */
    li t0, MSTATUS_TW
    csrc mstatus, t0
    RUN_IN MSTATUS_MPP_S, 13f, 14f
13: wfi
    ecall
14: CHECK_TA TA_CAUSE, CAUSE_SUPERVISOR_ECALL
    CHECK_TA_ADDR TA_EPC, 13b + 4
    li t0, MIP_SSIP
    csrc mip, t0
    csrw mie, zero
    csrw mideleg, zero

    /* ---- TSR ---- */
    li t0, MSTATUS_TSR
    csrs mstatus, t0
    TEST_NUM(11)
    RUN_IN MSTATUS_MPP_S, 15f, 16f
15: sret
    j fail
16: CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 15b
    CHECK_TVAL_INSN
    TEST_NUM(12)                         /* SRET in M-mode still works */
    li t0, MSTATUS_SPP
    csrs mstatus, t0
    la t0, 17f
    csrw sepc, t0
    TRAP_ARM 18f
    sret
17: ecall                                /* now in S-mode */
    j fail
18: CHECK_TA TA_CAUSE, CAUSE_SUPERVISOR_ECALL
    CHECK_TA_ADDR TA_EPC, 17b
    TEST_NUM(13)                         /* TSR = 0: SRET in S-mode returns to U */
    li t0, MSTATUS_TSR
    csrc mstatus, t0
    li t0, MSTATUS_SPP
    csrc mstatus, t0
    RUN_IN MSTATUS_MPP_S, 19f, 21f
19: la t0, 20f
    csrw sepc, t0
    sret
20: ecall
    j fail
21: CHECK_TA TA_CAUSE, CAUSE_USER_ECALL
    CHECK_TA_ADDR TA_EPC, 20b

TEST_END
