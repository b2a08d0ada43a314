/* RV64I base integer instructions (unprivileged spec, chapters 2 "RV32I" and 5 "RV64I").
 *
 * Every RV64I instruction except ECALL/EBREAK/FENCE semantics that need privileged
 * state (exceptions.S covers those): LUI, AUIPC, JAL, JALR, all branches, all loads
 * (with sign/zero extension), all stores, the register-immediate and register-register
 * ALU operations and their 32-bit W forms (result sign-extended from bit 31, shift
 * amounts of 5 bits), shifts by 63, writes to x0 being ignored, and misaligned loads
 * and stores, which QEMU performs without trapping (the spec lets an EEI either
 * perform them or trap; tern follows QEMU).
 */
#include "test_macros.h"

/* Check n: `inst a1, a2, target` must branch. */
#define TEST_BR_TAKEN(n, inst, v1, v2) \
    TEST_NUM(n); li a1, v1; li a2, v2; inst a1, a2, 7772f; j fail; 7772:

/* Check n: `inst a1, a2, target` must fall through. */
#define TEST_BR_NOT_TAKEN(n, inst, v1, v2) \
    TEST_NUM(n); li a1, v1; li a2, v2; inst a1, a2, 7773f; j 7774f; 7773: j fail; 7774:

/* Check n: load `inst` at `off` from `buf` gives `exp`. */
#define TEST_LD(n, inst, exp, off) \
    TEST_CASE(n, a0, exp, la a1, load_data; inst a0, off(a1))

/* Check n: store `val` with `st` at `off` in store_buf (cleared to 0 before), read the
 * doubleword back. */
#define TEST_ST(n, st, val, off, exp) \
    TEST_CASE(n, a0, exp, la a1, store_buf; sd zero, 0(a1); sd zero, 8(a1); \
              li a2, val; st a2, off(a1); ld a0, 0(a1))

TEST_BEGIN

    /* ---- LUI / AUIPC (2.4) ---- */
    TEST_CASE(1, a0, 0x0000000012345000, lui a0, 0x12345)
    TEST_CASE(2, a0, 0xffffffff80000000, lui a0, 0x80000)    /* sign-extended to 64 */
    TEST_CASE(3, a0, 0xfffffffffffff000, lui a0, 0xfffff)
    TEST_CASE(4, a0, 0, lui a0, 0)
    TEST_NUM(5)
1:  auipc a0, 0
    la a1, 1b
    CHECK_REG a0, a1
    TEST_NUM(6)
1:  auipc a0, 1
    la a1, 1b
    li a2, 0x1000
    add a1, a1, a2
    CHECK_REG a0, a1
    TEST_NUM(7)
1:  auipc a0, 0xfffff                /* pc - 4096 */
    la a1, 1b
    li a2, -0x1000
    add a1, a1, a2
    CHECK_REG a0, a1

    /* ---- JAL / JALR (2.5) ---- */
    TEST_NUM(8)
    jal ra, 2f
1:  j fail
2:  la a1, 1b
    CHECK_REG ra, a1                 /* link = pc + 4 */
    TEST_NUM(9)
    la a1, 3f
    jalr t0, 0(a1)
2:  j fail
3:  la a2, 2b
    CHECK_REG t0, a2
    TEST_NUM(10)                     /* offset added, then bit 0 cleared */
    la a1, 4f
    addi a1, a1, -7
    jalr t0, 8(a1)
    j fail
4:  nop
    TEST_NUM(11)                     /* rd == rs1: target computed from the old value */
    la a1, 5f
    jalr a1, 0(a1)
2:  j fail
5:  la a2, 2b
    CHECK_REG a1, a2
    TEST_NUM(12)                     /* jal x0 writes nothing */
    jal x0, 6f
    j fail
6:  CHECK zero, 0
    TEST_NUM(13)                     /* backward jal */
    li a0, 0
    j 8f
7:  addi a0, a0, 1
    j 9f
8:  jal x0, 7b
9:  CHECK a0, 1

    /* ---- branches (2.5) ---- */
    TEST_BR_TAKEN(14, beq, 5, 5)
    TEST_BR_NOT_TAKEN(15, beq, 5, 6)
    TEST_BR_TAKEN(16, bne, 0, -1)
    TEST_BR_NOT_TAKEN(17, bne, -1, -1)
    TEST_BR_TAKEN(18, blt, -1, 0)
    TEST_BR_NOT_TAKEN(19, blt, 0, -1)
    TEST_BR_NOT_TAKEN(20, blt, 7, 7)
    TEST_BR_TAKEN(21, blt, 0x8000000000000000, 0x7fffffffffffffff)
    TEST_BR_TAKEN(22, bge, 7, 7)
    TEST_BR_TAKEN(23, bge, 0, -1)
    TEST_BR_NOT_TAKEN(24, bge, -2, -1)
    TEST_BR_TAKEN(25, bltu, 0, -1)
    TEST_BR_NOT_TAKEN(26, bltu, -1, 0)
    TEST_BR_NOT_TAKEN(27, bltu, 3, 3)
    TEST_BR_TAKEN(28, bgeu, -1, 0)
    TEST_BR_TAKEN(29, bgeu, 3, 3)
    TEST_BR_NOT_TAKEN(30, bgeu, 0x7fffffffffffffff, 0x8000000000000000)
    TEST_NUM(31)                     /* backward taken branch */
    li a0, 3
    li a1, 0
1:  addi a1, a1, 1
    addi a0, a0, -1
    bnez a0, 1b
    CHECK a1, 3

    /* ---- loads (2.6, 5.3) ---- */
    TEST_LD(32, lb, 0xffffffffffffff81, 0)
    TEST_LD(33, lb, 0x7f, 1)
    TEST_LD(34, lbu, 0x81, 0)
    TEST_LD(35, lh, 0xffffffffffff8281, 2)
    TEST_LD(36, lhu, 0x8281, 2)
    TEST_LD(37, lh, 0x7f81, 0)
    TEST_LD(38, lw, 0xffffffff84838281, 4)
    TEST_LD(39, lwu, 0x84838281, 4)
    TEST_LD(40, lw, 0xffffffff82817f81, 0)
    TEST_LD(41, ld, 0x8483828182817f81, 0)
    TEST_LD(42, ld, 0x0102030405060708, 8)
    TEST_LD(43, lb, 0x01, 15)
    TEST_LD(44, lw, 0x05060708, 8)
    TEST_CASE(45, a0, 0xffffffffffffff81, la a1, load_data + 16; lb a0, -16(a1))  /* negative offset */
    TEST_CASE(46, a1, 0x7f, la a1, load_data; lbu a1, 1(a1))   /* rd == rs1 */

    /* ---- stores (2.6) ---- */
    TEST_ST(47, sb, 0x1234567890abcdef, 0, 0xef)
    TEST_ST(48, sb, 0xff, 7, 0xff00000000000000)
    TEST_ST(49, sh, 0x1234567890abcdef, 2, 0xcdef0000)
    TEST_ST(50, sw, 0x1234567890abcdef, 4, 0x90abcdef00000000)
    TEST_ST(51, sd, 0x1234567890abcdef, 0, 0x1234567890abcdef)
    TEST_CASE(52, a0, 0x55, la a1, store_buf + 8; li a2, 0x55; sb a2, -8(a1); lbu a0, -8(a1))

    /* ---- misaligned loads and stores: performed, no trap (2.6; QEMU behaviour) ---- */
    TEST_LD(53, lh, 0xffffffffffff817f, 1)
    TEST_LD(54, lw, 0xffffffff83828182, 3)
    TEST_LD(55, lwu, 0x06070884, 7)
    TEST_LD(56, ld, 0x0304050607088483, 6)
    TEST_LD(57, lhu, 0x0884, 7)
    TEST_ST(58, sh, 0xabcd, 7, 0xcd00000000000000)
    TEST_CASE(59, a0, 0xab, lbu a0, 8(a1))                     /* second half of check 58 */
    TEST_ST(60, sw, 0x11223344, 5, 0x2233440000000000)
    TEST_CASE(61, a0, 0x11, ld a0, 8(a1))
    TEST_ST(62, sd, 0x1122334455667788, 3, 0x4455667788000000)
    TEST_CASE(63, a0, 0x112233, ld a0, 8(a1))

    /* ---- register-immediate (2.4, 5.2) ---- */
    TEST_RI(64, addi, 0x0, 0, 0)
    TEST_RI(65, addi, 0x7ff, 0, 2047)
    TEST_RI(66, addi, -2048, 0, -2048)
    TEST_RI(67, addi, 0x8000000000000000, 0x7fffffffffffffff, 1)   /* wraps */
    TEST_RI(68, addi, 0xffffffffffffffff, 0, -1)
    TEST_RI(69, slti, 1, -1, 0)
    TEST_RI(70, slti, 0, 0, -1)
    TEST_RI(71, slti, 0, 5, 5)
    TEST_RI(72, sltiu, 1, 0, -1)      /* immediate sign-extended, then compared unsigned */
    TEST_RI(73, sltiu, 0, -1, 5)
    TEST_RI(74, sltiu, 1, 0, 1)       /* seqz */
    TEST_RI(75, xori, 0xffffffffffffff0f, 0xf0, -1)
    TEST_RI(76, xori, 0xfff, 0xf00, 0x0ff)
    TEST_RI(77, ori, 0xfffffffffffff80f, 0x0f, -2048)
    TEST_RI(78, andi, 0x00ff00ff00ff0000, 0x00ff00ff00ff00ff, -256)
    TEST_RI(79, andi, 0x0f, 0xffffffffffffffff, 0x0f)
    TEST_RI(80, slli, 0x8000000000000000, 1, 63)
    TEST_RI(81, slli, 0x0000000100000000, 1, 32)
    TEST_RI(82, slli, 0x2468ace0, 0x12345670, 1)
    TEST_RI(83, srli, 1, 0x8000000000000000, 63)
    TEST_RI(84, srli, 0x00000000ffffffff, 0xffffffffffffffff, 32)
    TEST_RI(85, srai, 0xffffffffffffffff, 0x8000000000000000, 63)
    TEST_RI(86, srai, 0xffffffff80000000, 0x8000000000000000, 32)
    TEST_RI(87, srai, 0x0000000040000000, 0x4000000000000000, 32)
    TEST_RI(88, srai, 0x8000000000000000, 0x8000000000000000, 0)

    /* ---- register-immediate W forms (5.2): 32-bit result, sign-extended ---- */
    TEST_RI(89, addiw, 0xffffffff80000000, 0x7fffffff, 1)
    TEST_RI(90, addiw, 0x0000000000000000, 0xffffffff00000000, 0)   /* sext.w ignores upper bits */
    TEST_RI(91, addiw, 0xffffffffffffffff, 0x12345678ffffffff, 0)
    TEST_RI(92, addiw, 0x000000007fffffff, 0x80000000, -1)
    TEST_RI(93, slliw, 0xffffffff80000000, 1, 31)
    TEST_RI(94, slliw, 0x0000000000000000, 0x100000000, 1)
    TEST_RI(95, slliw, 0x0000000012345670, 0xabcdef0001234567, 4)
    TEST_RI(96, srliw, 0x0000000000000001, 0x80000000, 31)
    TEST_RI(97, srliw, 0xffffffff80000000, 0x80000000, 0)           /* shift 0 still sign-extends */
    TEST_RI(98, srliw, 0x000000000fffffff, 0xffffffffffffffff, 4)
    TEST_RI(99, sraiw, 0xffffffffffffffff, 0x80000000, 31)
    TEST_RI(100, sraiw, 0xfffffffff8000000, 0x0000000080000000, 4)
    TEST_RI(101, sraiw, 0x0000000007ffffff, 0xffffffff7fffffff, 4)

    /* ---- register-register (2.4, 5.2) ---- */
    TEST_RR(102, add, 0x0000000100000000, 0xffffffff, 1)
    TEST_RR(103, add, 0x8000000000000000, 0x7fffffffffffffff, 1)
    TEST_RR(104, add, 0xfffffffffffffffe, -1, -1)
    TEST_RR(105, sub, 0xffffffffffffffff, 0, 1)
    TEST_RR(106, sub, 0x7fffffffffffffff, 0x8000000000000000, 1)
    TEST_RR(107, sll, 0x8000000000000000, 1, 63)
    TEST_RR(108, sll, 0x0000000000000002, 1, 65)                   /* only 6 bits of rs2 */
    TEST_RR(109, sll, 0x0000000000000001, 1, 0xffffffffffffffc0)
    TEST_RR(110, slt, 1, 0x8000000000000000, 0)
    TEST_RR(111, slt, 0, 0, 0x8000000000000000)
    TEST_RR(112, slt, 0, 3, 3)
    TEST_RR(113, sltu, 0, 0x8000000000000000, 0)
    TEST_RR(114, sltu, 1, 0, 0x8000000000000000)
    TEST_RR(115, sltu, 1, 0, 1)
    TEST_RR(116, xor, 0xff00ff00ff00ff00, 0x0f0f0f0f0f0f0f0f, 0xf00ff00ff00ff00f)
    TEST_RR(117, srl, 0x0000000000000001, 0x8000000000000000, 63)
    TEST_RR(118, srl, 0x4000000000000000, 0x8000000000000000, 65)
    TEST_RR(119, sra, 0xffffffffffffffff, 0x8000000000000000, 63)
    TEST_RR(120, sra, 0xc000000000000000, 0x8000000000000000, 0x41)
    TEST_RR(121, or, 0xfff0fff0fff0fff0, 0xff00ff00ff00ff00, 0xf0f0f0f0f0f0f0f0)
    TEST_RR(122, and, 0xf000f000f000f000, 0xff00ff00ff00ff00, 0xf0f0f0f0f0f0f0f0)
    TEST_CASE(123, a0, 1, li a2, 5; sltu a0, x0, a2)                  /* snez */
    TEST_CASE(124, a0, 0, sltu a0, x0, x0)

    /* ---- register-register W forms (5.2) ---- */
    TEST_RR(125, addw, 0xffffffff80000000, 0x7fffffff, 1)
    TEST_RR(126, addw, 0x0000000000000000, 0xffffffff, 1)
    TEST_RR(127, addw, 0x0000000000000003, 0x1234567800000001, 0xabcdef0000000002)
    TEST_RR(128, subw, 0x000000007fffffff, 0x80000000, 1)
    TEST_RR(129, subw, 0xffffffffffffffff, 0, 1)
    TEST_RR(130, sllw, 0xffffffff80000000, 1, 31)
    TEST_RR(131, sllw, 0x0000000000000002, 1, 33)                   /* only 5 bits of rs2 */
    TEST_RR(132, sllw, 0x0000000000000000, 0x80000000, 1)
    TEST_RR(133, srlw, 0x0000000000000001, 0xffffffff80000000, 31)
    TEST_RR(134, srlw, 0x0000000040000000, 0x80000000, 33)
    TEST_RR(135, srlw, 0xffffffff80000000, 0x0000000080000000, 32)  /* shift by 0 */
    TEST_RR(136, sraw, 0xffffffffffffffff, 0x80000000, 31)
    TEST_RR(137, sraw, 0xffffffffc0000000, 0x80000000, 33)
    TEST_RR(138, sraw, 0x0000000000000001, 0xffffffff7fffffff, 62)
    TEST_RR(139, sraw, 0x000000007fffffff, 0x800000007fffffff, 0)

    /* ---- writes to x0 are ignored (2.1) ---- */
    TEST_CASE(140, x0, 0, li a1, 5; addi x0, a1, 1)
    TEST_CASE(141, x0, 0, lui x0, 0x12345)
    TEST_CASE(142, x0, 0, la a1, load_data; ld x0, 0(a1))
    TEST_CASE(143, x0, 0, li a1, -1; add x0, a1, a1; mv a0, x0)
    TEST_CASE(144, x0, 0, auipc x0, 1)
    TEST_CASE(145, a0, 0, li a1, 7; addw x0, a1, a1; addw a0, x0, x0)

    /* ---- FENCE variants execute as ordinary instructions in a single hart ---- */
    TEST_CASE(146, a0, 9, li a0, 9; fence; fence rw, rw; fence.tso; fence i, o)

    /* ---- sign extension of 32-bit results in sequences (5.2) ---- */
    TEST_CASE(147, a0, 0xffffffff80000000, li a0, 0x7fffffff; addiw a0, a0, 1)
    TEST_CASE(148, a0, 0x0000000080000000, li a0, 0x7fffffff; addi a0, a0, 1)
    TEST_CASE(149, a0, 0xffffffffffffffff, li a0, -1; sext.w a0, a0)

TEST_END

    .data
    .align 4
load_data:
    .byte 0x81, 0x7f, 0x81, 0x82, 0x81, 0x82, 0x83, 0x84
    .dword 0x0102030405060708
store_buf:
    .dword 0, 0
