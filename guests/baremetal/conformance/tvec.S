/* Trap vectors: mtvec and stvec, direct and vectored modes (privileged spec 3.1.7
 * mtvec, 4.1.2 stvec).
 *
 * - MODE = 0 (direct): every trap goes to BASE.
 * - MODE = 1 (vectored): exceptions go to BASE, interrupts to BASE + 4 * cause:
 *   SSI (1), MSI (3), STI (5), MTI (7), SEI (9) in M-mode; SSI in S-mode.
 * - MODE >= 2 is reserved: QEMU ignores such a write (the register keeps its value).
 * Interrupt sources: mip.SSIP/STIP/SEIP written by M-mode, the CLINT's msip and
 * mtimecmp.
 */
#include "test_macros.h"

/* Vector entry `n`: mark slot n of `slots` as hit (by writing the slot's own address
 * into it), then continue in `handler` with every register intact. */
.macro VEC_ENTRY n, slots, scratch, handler
    csrw \scratch, t1
    la t1, \slots + 8 * \n
    sd t1, 0(t1)
    csrr t1, \scratch
    j \handler
.endm

/* Fail unless exactly slot `n` (0-15) of `slots` was hit; clear all slots. */
.macro CHECK_SLOT slots, n
    la t3, \slots
    li t4, 0
.Lslot_loop\@:
    ld t2, 0(t3)
    li t1, \n
    bne t4, t1, .Lslot_other\@
    CHECK_REG t2, t3
    j .Lslot_next\@
.Lslot_other\@:
    CHECK t2, 0
.Lslot_next\@:
    sd zero, 0(t3)
    addi t3, t3, 8
    addi t4, t4, 1
    li t1, 16
    blt t4, t1, .Lslot_loop\@
.endm

/* Arm a resume label, enable interrupt `bit` in mie and mstatus.MIE, wait. */
.macro TAKE_M_IRQ bit, resume
    TRAP_ARM \resume
    li t0, \bit
    csrs mie, t0
    csrsi mstatus, MSTATUS_MIE
    nop
    nop
    j fail_no_trap
.endm

TEST_BEGIN
    li t0, -1
    li t1, CLINT_MTIMECMP
    sd t0, 0(t1)                         /* no timer interrupt until asked */
    csrw mie, zero

    /* ---- direct mode ---- */
    TEST_NUM(1)
    la t0, mtrap_entry
    csrw mtvec, t0
    csrr a0, mtvec
    CHECK_ADDR a0, mtrap_entry
    TEST_NUM(2)                          /* an interrupt in direct mode goes to BASE */
    csrsi mip, MIP_SSIP
    TAKE_M_IRQ MIP_SSIP, 2f
2:  CHECK_TA TA_CAUSE, CAUSE_INTERRUPT | IRQ_S_SOFT
    csrci mip, MIP_SSIP
    csrw mie, zero

    /* ---- vectored mode ---- */
    TEST_NUM(3)
    la t0, mvec
    ori t0, t0, 1
    csrw mtvec, t0
    csrr a0, mtvec
    CHECK_REG a0, t0
    TEST_NUM(4)                          /* exceptions go to BASE */
    TRAP_ARM 3f
    ecall
3:  CHECK_SLOT mslots, 0
    CHECK_TA TA_CAUSE, CAUSE_MACHINE_ECALL
    TEST_NUM(5)                          /* SSI -> BASE + 4 */
    csrsi mip, MIP_SSIP
    TAKE_M_IRQ MIP_SSIP, 4f
4:  CHECK_SLOT mslots, 1
    CHECK_TA TA_CAUSE, CAUSE_INTERRUPT | IRQ_S_SOFT
    csrci mip, MIP_SSIP
    csrw mie, zero
    TEST_NUM(6)                          /* MSI (CLINT msip) -> BASE + 12 */
    li t1, CLINT_MSIP
    li t0, 1
    sw t0, 0(t1)
    TAKE_M_IRQ MIP_MSIP, 5f
5:  CHECK_SLOT mslots, 3
    CHECK_TA TA_CAUSE, CAUSE_INTERRUPT | IRQ_M_SOFT
    li t1, CLINT_MSIP
    sw zero, 0(t1)
    csrw mie, zero
    TEST_NUM(7)                          /* STI (mip.STIP from M) -> BASE + 20 */
    li t0, MIP_STIP
    csrs mip, t0
    TAKE_M_IRQ MIP_STIP, 6f
6:  CHECK_SLOT mslots, 5
    CHECK_TA TA_CAUSE, CAUSE_INTERRUPT | IRQ_S_TIMER
    li t0, MIP_STIP
    csrc mip, t0
    csrw mie, zero
    TEST_NUM(8)                          /* MTI (mtimecmp = 0) -> BASE + 28 */
    li t1, CLINT_MTIMECMP
    sd zero, 0(t1)
    TAKE_M_IRQ MIP_MTIP, 7f
7:  CHECK_SLOT mslots, 7
    CHECK_TA TA_CAUSE, CAUSE_INTERRUPT | IRQ_M_TIMER
    li t0, -1
    li t1, CLINT_MTIMECMP
    sd t0, 0(t1)
    csrw mie, zero
    TEST_NUM(9)                          /* SEI (mip.SEIP from M) -> BASE + 36 */
    li t0, MIP_SEIP
    csrs mip, t0
    TAKE_M_IRQ MIP_SEIP, 8f
8:  CHECK_SLOT mslots, 9
    CHECK_TA TA_CAUSE, CAUSE_INTERRUPT | IRQ_S_EXT
    li t0, MIP_SEIP
    csrc mip, t0
    csrw mie, zero
    TEST_NUM(10)                         /* reserved MODE values are not written */
    csrr a1, mtvec
    la t0, mtrap_entry
    ori t0, t0, 2
    csrw mtvec, t0
    csrr a0, mtvec
    CHECK_REG a0, a1
    ori t0, t0, 3
    csrw mtvec, t0
    csrr a0, mtvec
    CHECK_REG a0, a1

    /* ---- stvec, vectored, with SSI and user ECALL delegated ---- */
    la t0, mtrap_entry
    csrw mtvec, t0
    TEST_NUM(11)
    la t0, svec
    ori t0, t0, 1
    csrw stvec, t0
    csrr a0, stvec
    CHECK_REG a0, t0
    li t0, 1 << CAUSE_USER_ECALL
    csrw medeleg, t0
    li t0, MIP_SSIP
    csrw mideleg, t0
    TEST_NUM(12)                         /* exception -> BASE */
    RUN_IN 0, 9f, 10f
9:  ecall                                /* -> svec, strap_entry, ECALL to M */
10: CHECK_SLOT sslots, 0
    CHECK_TA TA_SCAUSE, CAUSE_USER_ECALL
    TEST_NUM(13)                         /* SSI in S-mode -> BASE + 4 */
    li t0, MIP_SSIP
    csrs mie, t0
    csrsi sstatus, MSTATUS_SIE
    RUN_IN MSTATUS_MPP_S, 11f, 12f
11: csrsi sip, MIP_SSIP
    nop
    j fail
12: CHECK_SLOT sslots, 1
    CHECK_TA TA_SCAUSE, CAUSE_INTERRUPT | IRQ_S_SOFT
    csrci mip, MIP_SSIP
    csrw mie, zero
    TEST_NUM(14)                         /* reserved MODE values are not written */
    csrr a1, stvec
    la t0, svec
    ori t0, t0, 3
    csrw stvec, t0
    csrr a0, stvec
    CHECK_REG a0, a1

TEST_END

    .text
    .balign 256
mvec:                                    /* BASE + 4 * cause */
    j mvec_0                             /* exceptions */
    j mvec_1                             /* SSI */
    j mvec_bad
    j mvec_3                             /* MSI */
    j mvec_bad
    j mvec_5                             /* STI */
    j mvec_bad
    j mvec_7                             /* MTI */
    j mvec_bad
    j mvec_9                             /* SEI */
    .rept 6
    j mvec_bad
    .endr
mvec_0: VEC_ENTRY 0, mslots, mscratch, mtrap_entry
mvec_1: VEC_ENTRY 1, mslots, mscratch, mtrap_entry
mvec_3: VEC_ENTRY 3, mslots, mscratch, mtrap_entry
mvec_5: VEC_ENTRY 5, mslots, mscratch, mtrap_entry
mvec_7: VEC_ENTRY 7, mslots, mscratch, mtrap_entry
mvec_9: VEC_ENTRY 9, mslots, mscratch, mtrap_entry
mvec_bad: VEC_ENTRY 15, mslots, mscratch, mtrap_entry

    .balign 256
svec:
    j svec_0
    j svec_1
    .rept 14
    j svec_bad
    .endr
svec_0: VEC_ENTRY 0, sslots, sscratch, strap_entry
svec_1: VEC_ENTRY 1, sslots, sscratch, strap_entry
svec_bad: VEC_ENTRY 15, sslots, sscratch, strap_entry

    .data
    .align 3
mslots: .zero 8 * 16
sslots: .zero 8 * 16
