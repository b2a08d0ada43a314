/* Zifencei: FENCE.I makes stores to instruction memory visible to later fetches
 * (unprivileged spec chapter 3 "Zifencei").
 *
 * - Code in a RAM buffer is executed (so any decode cache holds it), rewritten with
 *   ordinary stores, FENCE.I, executed again: the new instructions run.
 * - Both 32-bit and 16-bit instructions are rewritten; a 32-bit instruction is replaced
 *   by two 16-bit ones and back.
 * - The instruction right after FENCE.I (in the same block as the store and the fence)
 *   is rewritten and must run in its new form.
 * - A loop body hot in any cache is patched between iterations.
 * Without FENCE.I the result is unspecified, so it is never checked.
 */
#include "test_macros.h"

#define ADDI_A0(imm) (((imm) << 20) | 0x513)       /* addi a0, x0, imm */
#define ADDI_A0_A0(imm) (((imm) << 20) | 0x50513)  /* addi a0, a0, imm */
#define C_LI_A0(imm) (0x4501 | ((imm) << 2))        /* c.li a0, imm (0 <= imm < 32) */
#define C_ADDI_A0(imm) (0x0501 | ((imm) << 2))      /* c.addi a0, imm (0 < imm < 32) */

TEST_BEGIN

    TEST_NUM(1)                          /* the buffer as assembled */
    la s0, code_buf
    jalr ra, 0(s0)
    CHECK a0, 1
    TEST_NUM(2)                          /* rewrite the 32-bit instruction */
    li t0, ADDI_A0(2)
    sw t0, 0(s0)
    fence.i
    jalr ra, 0(s0)
    CHECK a0, 2
    TEST_NUM(3)                          /* replace it by two 16-bit instructions */
    li t0, C_LI_A0(3) | (C_ADDI_A0(4) << 16)
    sw t0, 0(s0)
    fence.i
    jalr ra, 0(s0)
    CHECK a0, 7
    TEST_NUM(4)                          /* only the second half changes */
    li t0, C_ADDI_A0(9)
    sh t0, 2(s0)
    fence.i
    jalr ra, 0(s0)
    CHECK a0, 12
    TEST_NUM(5)                          /* back to one 32-bit instruction */
    li t0, ADDI_A0(-5)
    sw t0, 0(s0)
    fence.i
    jalr ra, 0(s0)
    CHECK a0, -5

    TEST_NUM(6)                          /* patch the instruction right after fence.i */
    la t1, 1f
    li t0, ADDI_A0(66)
    sw t0, 0(t1)
    fence.i
1:  addi a0, x0, 6
    CHECK a0, 66

    TEST_NUM(7)                          /* patch a hot loop between iterations */
    la t1, 3f
    li a1, 0                             /* sum */
    li a2, 0                             /* iteration */
2:  li a0, 0
3:  addi a0, a0, 1                       /* patched to addi a0, a0, 100 at iteration 50 */
    add a1, a1, a0
    addi a2, a2, 1
    li t2, 50
    bne a2, t2, 4f
    li t0, ADDI_A0_A0(100)
    sw t0, 0(t1)
    fence.i
4:  li t2, 100
    blt a2, t2, 2b
    CHECK a1, 50 * 1 + 50 * 100

    TEST_NUM(8)                          /* code written byte by byte */
    li t0, ADDI_A0(77)
    sb t0, 0(s0)
    srli t0, t0, 8
    sb t0, 1(s0)
    srli t0, t0, 8
    sb t0, 2(s0)
    srli t0, t0, 8
    sb t0, 3(s0)
    fence.i
    jalr ra, 0(s0)
    CHECK a0, 77

TEST_END

    .data
    .align 6
code_buf:                                /* executable: M-mode without PMP rules */
    addi a0, x0, 1
    ret
    .align 3
