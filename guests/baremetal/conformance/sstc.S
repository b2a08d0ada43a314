/* Sstc: the supervisor timer compare register stimecmp (Sstc spec 1.0; privileged
 * spec 3.1.18 menvcfg.STCE).
 *
 * - With menvcfg.STCE = 1, mip.STIP is (time >= stimecmp) and is read-only in mip.
 * - S-mode may access stimecmp only when menvcfg.STCE = 1 and mcounteren.TM = 1,
 *   otherwise illegal instruction; M-mode always may.
 * - A delegated supervisor timer interrupt is taken in S-mode (scause 0x8..05) once
 *   time reaches the stimecmp that S-mode wrote; not delegated, in M-mode.
 * - With STCE = 0 the comparator is out of the picture: STIP is software-writable from
 *   M-mode again.
 *
 * QEMU 7.2 implements Sstc only on boards that provide rdtime; its spike board does
 * not, so stimecmp traps even in M-mode there: this runs on tern only.
 */
// qemu: no — QEMU 7.2's Sstc needs the rdtime the spike board lacks (stimecmp accesses trap, even in M-mode)
#include "test_macros.h"

#define MENVCFG_STCE (1 << 63)
#define TM 2

/* a0 = time + ticks (10 MHz) */
.macro TIME_PLUS ticks
    csrr a0, time
    li t0, \ticks
    add a0, a0, t0
.endm

TEST_BEGIN
    csrw mie, zero
    csrw mideleg, zero
    li t0, MIP_STIP
    csrc mip, t0
    li t0, MENVCFG_STCE
    csrs menvcfg, t0

    TEST_NUM(1)
    li t0, -1
    csrw stimecmp, t0
    CHECK_CSR stimecmp, -1
    CHECK_CSR_MASK mip, MIP_STIP, 0
    TEST_NUM(2)                          /* STIP = time >= stimecmp */
    csrw stimecmp, zero
    CHECK_CSR_MASK mip, MIP_STIP, MIP_STIP
    TEST_NUM(3)                          /* read-only in mip while STCE = 1 */
    li t0, MIP_STIP
    csrc mip, t0
    CHECK_CSR_MASK mip, MIP_STIP, MIP_STIP
    TEST_NUM(4)
    TIME_PLUS 100000000                  /* 10 s ahead */
    csrw stimecmp, a0
    CHECK_CSR_MASK mip, MIP_STIP, 0
    li t0, MIP_STIP
    csrs mip, t0
    CHECK_CSR_MASK mip, MIP_STIP, 0

    /* ---- access from S-mode ---- */
    csrw mcounteren, zero
    TEST_NUM(5)                          /* TM = 0: illegal */
    RUN_IN MSTATUS_MPP_S, 1f, 2f
1:  csrr a0, stimecmp
    j fail
2:  CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 1b
    CHECK_TVAL_INSN
    TEST_NUM(6)                          /* TM = 1, STCE = 1: fine */
    csrwi mcounteren, TM
    RUN_IN MSTATUS_MPP_S, 3f, 4f
3:  li a1, -1
    csrw stimecmp, a1
    csrr a0, stimecmp
    ecall
4:  CHECK_TA TA_CAUSE, CAUSE_SUPERVISOR_ECALL
    CHECK a0, -1
    TEST_NUM(7)                          /* STCE = 0: illegal again */
    li t0, MENVCFG_STCE
    csrc menvcfg, t0
    RUN_IN MSTATUS_MPP_S, 5f, 6f
5:  csrw stimecmp, zero
    j fail
6:  CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 5b
    TEST_NUM(8)                          /* STCE = 0: STIP writable by M, comparator ignored */
    csrw stimecmp, zero
    CHECK_CSR_MASK mip, MIP_STIP, 0
    li t0, MIP_STIP
    csrs mip, t0
    CHECK_CSR_MASK mip, MIP_STIP, MIP_STIP
    csrc mip, t0
    CHECK_CSR_MASK mip, MIP_STIP, 0
    li t0, -1
    csrw stimecmp, t0

    /* ---- the interrupt ---- */
    li t0, MENVCFG_STCE
    csrs menvcfg, t0
    la t0, strap_entry
    csrw stvec, t0
    TEST_NUM(9)                          /* delegated: taken in S-mode */
    li t0, MIP_STIP
    csrw mideleg, t0
    csrw mie, t0
    csrsi sstatus, MSTATUS_SIE
    RUN_IN MSTATUS_MPP_S, 7f, 9f
7:  csrr a0, time
    addi a0, a0, 1000                    /* 100 us */
    csrw stimecmp, a0
    li t2, 100000000
8:  addi t2, t2, -1
    bnez t2, 8b
    j fail
9:  CHECK_TA TA_SCAUSE, CAUSE_INTERRUPT | IRQ_S_TIMER
    CHECK_TA TA_CAUSE, CAUSE_SUPERVISOR_ECALL      /* strap_entry's ECALL */
    csrr a1, time
    bltu a1, a0, fail                    /* not before stimecmp */
    li t0, -1
    csrw stimecmp, t0
    CHECK_CSR_MASK mip, MIP_STIP, 0
    TEST_NUM(10)                         /* not delegated: taken in M-mode */
    csrw mideleg, zero
    TIME_PLUS 1000
    csrw stimecmp, a0
    TRAP_ARM 11f
    csrsi mstatus, MSTATUS_MIE
    li t2, 100000000
10: addi t2, t2, -1
    bnez t2, 10b
    j fail_no_trap
11: CHECK_TA TA_CAUSE, CAUSE_INTERRUPT | IRQ_S_TIMER
    li t0, -1
    csrw stimecmp, t0
    csrw mie, zero
    li t0, MENVCFG_STCE
    csrc menvcfg, t0
TEST_END
