/* C extension: every RV64C compressed instruction (unprivileged spec, chapter 16),
 * written with explicit `c.` mnemonics so that the 16-bit encodings are what runs.
 *
 * Quadrant 0: C.ADDI4SPN, C.FLD, C.LW, C.LD, C.FSD, C.SW, C.SD.
 * Quadrant 1: C.NOP, C.ADDI, C.ADDIW, C.LI, C.ADDI16SP, C.LUI, C.SRLI, C.SRAI, C.ANDI,
 *             C.SUB, C.XOR, C.OR, C.AND, C.SUBW, C.ADDW, C.J, C.BEQZ, C.BNEZ.
 * Quadrant 2: C.SLLI, C.FLDSP, C.LWSP, C.LDSP, C.JR, C.MV, C.EBREAK, C.JALR, C.ADD,
 *             C.FSDSP, C.SWSP, C.SDSP.
 * Also: immediates sign-extended as the encodings say, 32-bit results of C.ADDIW/C.ADDW/
 * C.SUBW sign-extended, C.JALR linking pc+2, 32-bit instructions at addresses that are
 * only 2-byte aligned (IALIGN = 16), and the reserved encodings (all-zero instruction,
 * C.ADDI4SPN with 0, C.LUI with 0, C.ADDI16SP with 0, C.JR with x0, C.ADDIW with x0)
 * raising illegal instruction with mtval = the 16 instruction bits (as QEMU does).
 */
#include "test_macros.h"

/* Check n: the 16-bit encoding `bits` is an illegal instruction. */
#define TEST_ILLEGAL16(n, bits) \
    TEST_EXC(n, CAUSE_ILLEGAL_INSTRUCTION, bits, .2byte bits)

TEST_BEGIN
    .option rvc

    /* ---- quadrant 1: immediates and ALU ---- */
    TEST_CASE(1, a0, 5, li a0, 0; c.addi a0, 5)
    TEST_CASE(2, a0, 0xffffffffffffffe0 + 7, li a0, 7; c.addi a0, -32)
    TEST_CASE(3, a0, 0xffffffff80000000, li a0, 0x7fffffff; c.addiw a0, 1)
    TEST_CASE(4, a0, 0x0000000012345678, li a0, 0xffffffff12345678; c.addiw a0, 0)   /* sext.w */
    TEST_CASE(5, a0, 31, c.li a0, 31)
    TEST_CASE(6, a0, -32, c.li a0, -32)
    TEST_CASE(7, a0, 0x000000000001f000, c.lui a0, 0x1f)
    TEST_CASE(8, a0, 0xfffffffffffe0000, c.lui a0, 0xfffe0)   /* imm[17] set: sign-extended */
    TEST_CASE(9, a0, 0xfffffffffffff000, c.lui a0, 0xfffff)
    TEST_CASE(10, a0, 0x4000000000000000, li a0, 0x8000000000000000; c.srli a0, 1)
    TEST_CASE(11, a0, 0x0000000000000001, li a0, 0x8000000000000000; c.srli a0, 63)
    TEST_CASE(12, a0, 0x00000000ffffffff, li a0, -1; c.srli a0, 32)
    TEST_CASE(13, a0, 0xffffffffffffffff, li a0, 0x8000000000000000; c.srai a0, 63)
    TEST_CASE(14, a0, 0xffffffff80000000, li a0, 0x8000000000000000; c.srai a0, 32)
    TEST_CASE(15, a0, 0x0000000000000010, li a0, 0x1234567890abcdf0; c.andi a0, 0x1f)
    TEST_CASE(16, a0, 0x1234567890abcde0, li a0, 0x1234567890abcdf0; c.andi a0, -32)
    TEST_CASE(17, a0, 0xffffffffffffffff, li a0, 0; li a1, 1; c.sub a0, a1)
    TEST_CASE(18, a0, 0xff00ff00ff00ff00, li a0, 0x0f0f0f0f0f0f0f0f; li a1, 0xf00ff00ff00ff00f; c.xor a0, a1)
    TEST_CASE(19, a0, 0xff0fff0fff0fff0f, li a0, 0x0f0f0f0f0f0f0f0f; li a1, 0xf00ff00ff00ff00f; c.or a0, a1)
    TEST_CASE(20, a0, 0x000f000f000f000f, li a0, 0x0f0f0f0f0f0f0f0f; li a1, 0xf00ff00ff00ff00f; c.and a0, a1)
    TEST_CASE(21, a0, 0x000000007fffffff, li a0, 0x80000000; li a1, 1; c.subw a0, a1)
    TEST_CASE(22, a0, 0xffffffff80000000, li a0, 0x7fffffff; li a1, 1; c.addw a0, a1)
    TEST_CASE(23, a0, 0x0000000000000000, li a0, 0xffffffff; li a1, 0x100000001; c.addw a0, a1)
    TEST_CASE(24, a5, 0x55, li a5, 0x55; c.nop)
    TEST_CASE(25, s1, 0x3c, li s1, 0x3c; li s0, 0; c.add s1, s0)

    /* ---- C.ADDI16SP, C.ADDI4SPN (sp-relative immediates) ---- */
    TEST_NUM(26)
    mv s1, sp
    c.addi16sp sp, -512
    addi a0, s1, -512
    CHECK_REG sp, a0
    c.addi16sp sp, 496
    addi a0, s1, -16
    CHECK_REG sp, a0
    mv sp, s1
    TEST_NUM(27)
    c.addi4spn a0, sp, 1020
    addi a1, sp, 1020
    CHECK_REG a0, a1
    c.addi4spn a0, sp, 4
    addi a1, sp, 4
    CHECK_REG a0, a1

    /* ---- quadrant 2: C.SLLI, C.MV, C.ADD ---- */
    TEST_CASE(28, a0, 0x8000000000000000, li a0, 1; c.slli a0, 63)
    TEST_CASE(29, t0, 0x0000000100000000, li t0, 1; c.slli t0, 32)   /* full register set */
    TEST_CASE(30, t1, 0x1234, li t2, 0x1234; c.mv t1, t2)
    TEST_CASE(31, t1, 0x1235, li t1, 1; li t2, 0x1234; c.add t1, t2)
    TEST_CASE(32, t1, 0xfffffffffffffffe, li t1, -1; c.add t1, t1)

    /* ---- loads and stores, register-based (quadrant 0) and sp-based (quadrant 2) ---- */
    la s0, cdata
    TEST_CASE(33, a0, 0xffffffff87654321, c.lw a0, 4(s0))            /* sign-extended */
    TEST_CASE(34, a0, 0x0000000012345678, c.lw a0, 0(s0))
    TEST_CASE(35, a0, 0x8765432112345678, c.ld a0, 0(s0))
    TEST_CASE(36, a0, 0x00000000deadbeef, c.ld a0, 8(s0))
    TEST_NUM(37)
    li a1, 0xaabbccdd
    c.sw a1, 16(s0)
    li a1, 0x1122334455667788
    c.sd a1, 24(s0)
    ld a0, 16(s0)
    CHECK a0, 0xaabbccdd
    ld a0, 24(s0)
    CHECK a0, 0x1122334455667788
    TEST_NUM(38)
    li a1, 0x400921fb54442d18                   /* pi */
    sd a1, 32(s0)
    c.fld fa0, 32(s0)
    fmv.x.d a0, fa0
    CHECK a0, 0x400921fb54442d18
    c.fsd fa0, 40(s0)
    ld a0, 40(s0)
    CHECK a0, 0x400921fb54442d18
    TEST_NUM(39)
    mv s1, sp
    mv sp, s0
    c.lwsp a0, 4(sp)
    c.ldsp a1, 0(sp)
    c.fldsp fa1, 32(sp)
    li a2, 0x8000000012345678
    c.swsp a2, 48(sp)
    c.sdsp a2, 56(sp)
    c.fsdsp fa1, 64(sp)
    mv sp, s1
    CHECK a0, 0xffffffff87654321
    CHECK a1, 0x8765432112345678
    fmv.x.d a3, fa1
    CHECK a3, 0x400921fb54442d18
    ld a3, 48(s0)
    CHECK a3, 0x12345678
    ld a3, 56(s0)
    CHECK a3, 0x8000000012345678
    ld a3, 64(s0)
    CHECK a3, 0x400921fb54442d18

    /* ---- control transfer ---- */
    TEST_NUM(40)                                /* C.J forward and backward */
    li a0, 0
    c.j 2f
1:  addi a0, a0, 1
    c.j 3f
2:  c.j 1b
3:  CHECK a0, 1
    TEST_NUM(41)                                /* C.BEQZ / C.BNEZ */
    li a0, 0
    c.beqz a0, 4f
    j fail
4:  li a0, 3
    c.beqz a0, fail_near
    li a1, 0
5:  addi a1, a1, 1
    addi a0, a0, -1
    c.bnez a0, 5b
    CHECK a1, 3
    li a0, 0
    c.bnez a0, fail_near
    TEST_NUM(42)                                /* C.JR */
    la a1, 6f
    c.jr a1
    j fail
6:  nop
    TEST_NUM(43)                                /* C.JALR links pc + 2 */
    la a1, 8f
7:  c.jalr a1
    j fail
8:  la a2, 7b
    addi a2, a2, 2
    CHECK_REG ra, a2
    TEST_NUM(44)                                /* C.JALR with rs1 = ra */
    la ra, 10f
9:  c.jalr ra
    j fail
10: la a2, 9b
    addi a2, a2, 2
    CHECK_REG ra, a2

    /* ---- 32-bit instructions at 2-byte-aligned addresses (IALIGN = 16) ---- */
    TEST_NUM(45)
    .balign 4
    c.nop
    auipc a0, 0                                 /* at 4k+2 */
11: la a1, 11b
    addi a1, a1, -4
    CHECK_REG a0, a1
    andi a1, a0, 3
    CHECK a1, 2
    TEST_NUM(46)                                /* jump to a 4k+2 target */
    .balign 4
    jal ra, 12f                                 /* at 4k: links 4k+4 */
    c.nop
12: andi a1, ra, 3                              /* at 4k+6 */
    CHECK a1, 0
    la a2, 12b
    andi a2, a2, 3
    CHECK a2, 2

    /* ---- C.EBREAK (16.8): breakpoint, mepc = its address ---- */
    TEST_EXC_NOTVAL(47, CAUSE_BREAKPOINT, c.ebreak)

    /* ---- reserved encodings are illegal; mtval = the 16 bits ---- */
    TEST_ILLEGAL16(48, 0x0000)                  /* defined illegal instruction */
    TEST_ILLEGAL16(49, 0x0004)                  /* C.ADDI4SPN, nzuimm = 0 */
    TEST_ILLEGAL16(50, 0x6081)                  /* C.LUI x1, 0 */
    TEST_ILLEGAL16(51, 0x6101)                  /* C.ADDI16SP, nzimm = 0 */
    TEST_ILLEGAL16(52, 0x8002)                  /* C.JR x0 */
    TEST_ILLEGAL16(53, 0x2001)                  /* C.ADDIW x0 */

    .option norvc
    TEST_END

fail_near:
    j fail

    .data
    .align 4
cdata:
    .word 0x12345678, 0x87654321
    .dword 0xdeadbeef
    .dword 0, 0, 0, 0, 0, 0, 0, 0, 0
