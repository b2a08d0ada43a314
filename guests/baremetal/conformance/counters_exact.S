/* Counters that QEMU's spike board cannot check: the time CSR and exact instret
 * (unprivileged chapter "Zicntr"; privileged spec 3.1.10-3.1.12, 4.1.5).
 *
 * - time is the CLINT's mtime seen as a CSR: mtime read before <= time <= mtime read
 *   after. M-mode can always read it; S-mode needs mcounteren.TM, U-mode mcounteren.TM
 *   and scounteren.TM, else illegal instruction.
 * - minstret counts retired instructions exactly. A CSR write to it replaces the
 *   increment of the writing instruction, and a CSR read returns the value before the
 *   reading instruction retires (unprivileged "Zicsr", CSR side effects), so
 *   `csrw minstret, X; <n instructions>; csrr minstret` reads X + n.
 * - mcountinhibit.IR / CY stop minstret / mcycle.
 *
 * QEMU 7.2's spike board has no time CSR (its CLINT provides no rdtime: reads trap),
 * and its TCG derives minstret from the host clock: this runs on tern only.
 */
// qemu: no — QEMU 7.2's spike board has no time CSR (reads trap) and its TCG minstret follows the host clock, not retired instructions
#include "test_macros.h"

#define TM 2

TEST_BEGIN
    csrw mcounteren, zero
    csrw scounteren, zero
    csrw mcountinhibit, zero

    /* ---- time ---- */
    TEST_NUM(1)
    li t1, CLINT_MTIME
    ld a0, 0(t1)
    csrr a1, time
    ld a2, 0(t1)
    bltu a1, a0, fail
    bltu a2, a1, fail
    TEST_NUM(2)                          /* it advances */
    li t2, 100000
1:  addi t2, t2, -1
    bnez t2, 1b
    csrr a3, time
    bleu a3, a1, fail
    TEST_NUM(3)                          /* S-mode without mcounteren.TM */
    RUN_IN MSTATUS_MPP_S, 2f, 3f
2:  csrr a0, time
    j fail
3:  CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 2b
    CHECK_TVAL_INSN
    TEST_NUM(4)                          /* S-mode with it */
    csrwi mcounteren, TM
    RUN_IN MSTATUS_MPP_S, 4f, 5f
4:  csrr a0, time
    ecall
5:  CHECK_TA TA_CAUSE, CAUSE_SUPERVISOR_ECALL
    TEST_NUM(5)                          /* U-mode also needs scounteren.TM */
    RUN_IN 0, 6f, 7f
6:  csrr a0, time
    j fail
7:  CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 6b
    TEST_NUM(6)
    csrwi scounteren, TM
    RUN_IN 0, 8f, 9f
8:  csrr a0, time
    ecall
9:  CHECK_TA TA_CAUSE, CAUSE_USER_ECALL
    TEST_NUM(7)                          /* time is read-only */
    TEST_ILLEGAL(8, csrw time, zero)

    /* ---- exact minstret ---- */
    TEST_NUM(9)
    csrw minstret, zero
    csrr a0, minstret
    CHECK a0, 0
    TEST_NUM(10)
    csrw minstret, zero
    nop
    nop
    nop
    csrr a0, minstret
    CHECK a0, 3
    TEST_NUM(11)
    li a1, 100
    csrw minstret, a1
    addi a2, a2, 1
    addi a2, a2, 1
    addi a2, a2, 1
    addi a2, a2, 1
    addi a2, a2, 1
    csrr a0, instret
    CHECK a0, 105
    TEST_NUM(12)                         /* a loop: 1 + 3 * 10 instructions */
    csrw minstret, zero
    li t2, 10
10: addi t2, t2, -1
    nop
    bnez t2, 10b
    csrr a0, minstret
    CHECK a0, 31

    /* ---- mcountinhibit ---- */
    TEST_NUM(13)
    csrwi mcountinhibit, 4               /* IR */
    li a1, 7
    csrw minstret, a1
    nop
    nop
    csrr a0, minstret
    CHECK a0, 7
    TEST_NUM(14)
    csrwi mcountinhibit, 1               /* CY */
    li a1, 9
    csrw mcycle, a1
    nop
    nop
    csrr a0, mcycle
    CHECK a0, 9
    csrw mcountinhibit, zero
    TEST_NUM(15)                         /* counting again */
    csrw minstret, zero
    nop
    csrr a0, minstret
    CHECK a0, 1
TEST_END
