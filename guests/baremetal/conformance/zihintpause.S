/* Zihintpause (unprivileged spec chapter 4 "Zihintpause") and other HINT encodings
 * (2.9, 16.7): they execute as no-ops.
 *
 * PAUSE is FENCE with pred = W, succ = 0, fm = 0, rd = rs1 = x0: it changes no
 * architectural state and does not trap, in every privilege mode (also with
 * mstatus.TW, which concerns WFI only). Integer computational instructions with
 * rd = x0 and C.NOP with a nonzero immediate are HINTs as well: no-ops.
 */
#include "test_macros.h"

.macro HINTS
    pause
    pause
    slli x0, x0, 31                      /* HINT */
    addi x0, x1, 5                       /* HINT */
    lui x0, 0x12345                      /* HINT */
    .word 0x0100000f                     /* pause, spelled as its FENCE encoding */
    .option push
    .option rvc
    c.nop 13                             /* C.NOP with nzimm: HINT */
    c.nop
    .option pop
.endm

TEST_BEGIN
    .option arch, +zihintpause

    TEST_NUM(1)
    li a0, 0x55
    li a1, 0x66
    HINTS
    CHECK a0, 0x55
    CHECK a1, 0x66
    CHECK x0, 0
    TEST_NUM(2)                          /* no trap in S-mode */
    RUN_IN MSTATUS_MPP_S, 1f, 2f
1:  HINTS
    ecall
2:  CHECK_TA TA_CAUSE, CAUSE_SUPERVISOR_ECALL
    TEST_NUM(3)                          /* no trap in U-mode, even with mstatus.TW */
    li t0, MSTATUS_TW
    csrs mstatus, t0
    RUN_IN 0, 3f, 4f
3:  HINTS
    ecall
4:  CHECK_TA TA_CAUSE, CAUSE_USER_ECALL
    li t0, MSTATUS_TW
    csrc mstatus, t0
TEST_END
