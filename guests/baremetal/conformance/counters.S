/* Counters (privileged spec 3.1.10 mcycle/minstret, 3.1.11 mcounteren, 4.1.5
 * scounteren; unprivileged chapter "Zicntr").
 *
 * - mcycle and minstret are writable from M-mode and count up from the written value.
 *   (QEMU's TCG derives both from the host clock, so only "counts up" is checked here;
 *   the exact instret rule is checked on tern in counters_exact.S.)
 * - cycle and instret read the same counters; M-mode can always read them.
 * - S-mode can read cycle/instret only when mcounteren.CY/IR is set, U-mode only when
 *   both mcounteren and scounteren have the bit; otherwise illegal instruction with
 *   mtval = the instruction bits.
 * (The time CSR is absent on QEMU's spike board: counters_exact.S covers it on tern.)
 */
#include "test_macros.h"

#define CY 1
#define IR 4

TEST_BEGIN
    csrw mcounteren, zero
    csrw scounteren, zero

    TEST_NUM(1)                          /* mcycle: write, then it counts from there */
    li a1, 0x100000000
    csrw mcycle, a1
    csrr a0, mcycle
    bltu a0, a1, fail
    li a2, 0x100000000 + (1 << 40)
    bgeu a0, a2, fail
    TEST_NUM(2)
    csrr a0, mcycle
    li t2, 1000
1:  addi t2, t2, -1
    bnez t2, 1b
    csrr a1, mcycle
    bleu a1, a0, fail
    TEST_NUM(3)                          /* cycle is the same counter */
    csrr a0, mcycle
    csrr a1, cycle
    csrr a2, mcycle
    bltu a1, a0, fail
    bltu a2, a1, fail
    TEST_NUM(4)                          /* minstret */
    li a1, 0x200000000
    csrw minstret, a1
    csrr a0, minstret
    bltu a0, a1, fail
    li a2, 0x200000000 + (1 << 40)
    bgeu a0, a2, fail
    TEST_NUM(5)
    csrr a0, minstret
    li t2, 1000
2:  addi t2, t2, -1
    bnez t2, 2b
    csrr a1, instret
    bleu a1, a0, fail

    /* ---- access from S-mode: mcounteren ---- */
    TEST_NUM(6)
    RUN_IN MSTATUS_MPP_S, 3f, 4f
3:  csrr a0, cycle
    j fail
4:  CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 3b
    CHECK_TVAL_INSN
    TEST_NUM(7)
    RUN_IN MSTATUS_MPP_S, 5f, 6f
5:  csrr a0, instret
    j fail
6:  CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 5b
    TEST_NUM(8)                          /* CY alone: cycle yes, instret no */
    csrwi mcounteren, CY
    RUN_IN MSTATUS_MPP_S, 7f, 9f
7:  csrr a0, cycle
8:  csrr a0, instret
    j fail
9:  CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 8b
    TEST_NUM(9)
    csrwi mcounteren, CY | IR
    RUN_IN MSTATUS_MPP_S, 10f, 11f
10: csrr a0, cycle
    csrr a1, instret
    ecall
11: CHECK_TA TA_CAUSE, CAUSE_SUPERVISOR_ECALL

    /* ---- access from U-mode: mcounteren and scounteren ---- */
    TEST_NUM(10)                         /* mcounteren set, scounteren clear */
    RUN_IN 0, 12f, 13f
12: csrr a0, cycle
    j fail
13: CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 12b
    TEST_NUM(11)                         /* both set */
    csrwi scounteren, CY | IR
    RUN_IN 0, 14f, 15f
14: csrr a0, cycle
    csrr a1, instret
    ecall
15: CHECK_TA TA_CAUSE, CAUSE_USER_ECALL
    TEST_NUM(12)                         /* scounteren set, mcounteren clear */
    csrwi mcounteren, 0
    RUN_IN 0, 16f, 17f
16: csrr a1, instret
    j fail
17: CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 16b
    TEST_NUM(13)                         /* scounteren is writable from S-mode */
    csrw scounteren, zero
    RUN_IN MSTATUS_MPP_S, 18f, 19f
18: csrwi scounteren, IR
    ecall
19: CHECK_CSR_MASK scounteren, 7, IR
    TEST_NUM(14)                         /* M-mode reads whatever the enables say */
    csrw mcounteren, zero
    csrw scounteren, zero
    csrr a0, cycle
    csrr a0, instret

TEST_END
