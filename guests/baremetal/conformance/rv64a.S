/* A extension: load-reserved/store-conditional and atomic memory operations
 * (unprivileged spec, chapter 8).
 *
 * - LR/SC (8.2): a matching SC succeeds (rd = 0, memory written); SC without a
 *   reservation fails with rd = 1 (the "unspecified failure" code) and leaves memory
 *   alone; every SC, successful or not, ends the reservation; SC to an address outside
 *   the reserved set fails; LR.W sign-extends, SC.W writes 32 bits.
 * - AMOs (8.4): every AMO*.W and AMO*.D returns the old value (sign-extended from 32
 *   bits for .W), writes the combined value, and for .W leaves the neighbouring word
 *   alone; MIN/MAX signed and unsigned; rs2's upper half ignored by .W; aq/rl forms.
 * - Alignment (8.2, 8.4): a misaligned AMO raises store/AMO address-misaligned
 *   (cause 6) with mtval = the address, a misaligned LR raises load address-misaligned
 *   (cause 4, what QEMU reports), and memory is not changed.
 *
 * QEMU 7.2 with a single vCPU executes AMOs as a plain load and store and then reports a
 * misaligned AMO with the load cause (4), against the spec. Declaring a second possible
 * vCPU makes its TCG use real atomic operations, which report cause 6:
 */
// qemu-args: -smp 1,maxcpus=2
#include "test_macros.h"

/* Check n: 64-bit AMO `inst` on memory `init` with rs2 = `src` must return `old` and
 * leave `new` in memory. */
#define TEST_AMO_D(n, inst, init, src, old, new) \
    TEST_NUM(n); la a1, amo_buf; li a2, init; sd a2, 0(a1); li a2, src; \
    inst a0, a2, (a1); CHECK a0, old; ld a3, 0(a1); CHECK a3, new

/* Check n: 32-bit AMO on the low word of a doubleword whose high word is 0x5a5a5a5a:
 * old value sign-extended, new low word, high word untouched. */
#define TEST_AMO_W(n, inst, init, src, old, new) \
    TEST_NUM(n); la a1, amo_buf; li a2, (0x5a5a5a5a << 32) | ((init) & 0xffffffff); \
    sd a2, 0(a1); li a2, src; inst a0, a2, (a1); CHECK a0, old; \
    ld a3, 0(a1); CHECK a3, (0x5a5a5a5a << 32) | ((new) & 0xffffffff)

TEST_BEGIN

    /* ---- LR/SC (8.2) ---- */
    TEST_NUM(1)                      /* SC with no LR since reset fails */
    la a1, amo_buf
    li a2, 0x1111
    sd a2, 0(a1)
    li a3, 0x2222
    sc.d a0, a3, (a1)
    CHECK a0, 1
    ld a4, 0(a1)
    CHECK a4, 0x1111
    TEST_NUM(2)                      /* LR/SC pair succeeds */
    lr.d a0, (a1)
    CHECK a0, 0x1111
    sc.d a4, a3, (a1)
    CHECK a4, 0
    ld a4, 0(a1)
    CHECK a4, 0x2222
    TEST_NUM(3)                      /* the successful SC ended the reservation */
    li a3, 0x3333
    sc.d a4, a3, (a1)
    CHECK a4, 1
    ld a4, 0(a1)
    CHECK a4, 0x2222
    TEST_NUM(4)                      /* a failed SC ends the reservation too */
    lr.d a0, (a1)
    la a5, far_buf
    sc.d a4, a3, (a5)                /* other reservation set: fails */
    CHECK a4, 1
    ld a4, 0(a5)
    CHECK a4, 0
    sc.d a4, a3, (a1)                /* reservation gone */
    CHECK a4, 1
    ld a4, 0(a1)
    CHECK a4, 0x2222
    TEST_NUM(5)                      /* LR.W sign-extends; SC.W writes only 32 bits */
    li a2, 0x12345678f0000001
    sd a2, 0(a1)
    lr.w a0, (a1)
    CHECK a0, 0xfffffffff0000001
    li a3, 0xaaaaaaaa00000002
    sc.w a4, a3, (a1)
    CHECK a4, 0
    ld a4, 0(a1)
    CHECK a4, 0x1234567800000002
    TEST_NUM(6)                      /* LR.W on the upper word, with aq/rl forms */
    addi a5, a1, 4
    lr.w.aq a0, (a5)
    CHECK a0, 0x12345678
    li a3, 0x87654321
    sc.w.rl a4, a3, (a5)
    CHECK a4, 0
    ld a4, 0(a1)
    CHECK a4, 0x8765432100000002
    TEST_NUM(7)                      /* SC.W without reservation fails */
    sc.w a4, a3, (a1)
    CHECK a4, 1
    TEST_NUM(8)                      /* lr/sc.aqrl, and rd = x0 for SC */
    lr.d.aqrl a0, (a1)
    li a3, 77
    sc.d.aqrl x0, a3, (a1)
    ld a4, 0(a1)
    CHECK a4, 77
    CHECK x0, 0

    /* ---- AMO .D (8.4) ---- */
    TEST_AMO_D(10, amoswap.d, 0x1111111122222222, 0x3333333344444444, 0x1111111122222222, 0x3333333344444444)
    TEST_AMO_D(11, amoadd.d, 0xffffffffffffffff, 2, 0xffffffffffffffff, 1)
    TEST_AMO_D(12, amoadd.d, 0x00000000ffffffff, 1, 0x00000000ffffffff, 0x0000000100000000)
    TEST_AMO_D(13, amoxor.d, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0xff00ff00ff00ff00, 0xf0f0f0f0f0f0f0f0)
    TEST_AMO_D(14, amoand.d, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0xff00ff00ff00ff00, 0x0f000f000f000f00)
    TEST_AMO_D(15, amoor.d, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0xff00ff00ff00ff00, 0xfff0fff0fff0fff0)
    TEST_AMO_D(16, amomin.d, 0x8000000000000000, 5, 0x8000000000000000, 0x8000000000000000)
    TEST_AMO_D(17, amomin.d, 5, -1, 5, -1)
    TEST_AMO_D(18, amomax.d, 0x8000000000000000, 5, 0x8000000000000000, 5)
    TEST_AMO_D(19, amomax.d, -7, -9, -7, -7)
    TEST_AMO_D(20, amominu.d, 0x8000000000000000, 5, 0x8000000000000000, 5)
    TEST_AMO_D(21, amominu.d, 5, -1, 5, 5)
    TEST_AMO_D(22, amomaxu.d, 0x8000000000000000, 5, 0x8000000000000000, 0x8000000000000000)
    TEST_AMO_D(23, amomaxu.d, 5, -1, 5, -1)
    TEST_AMO_D(24, amoadd.d.aq, 40, 2, 40, 42)
    TEST_AMO_D(25, amoswap.d.rl, 1, 2, 1, 2)
    TEST_AMO_D(26, amoor.d.aqrl, 1, 2, 1, 3)

    /* ---- AMO .W (8.4): old value sign-extended, high word untouched ---- */
    TEST_AMO_W(30, amoswap.w, 0x80000001, 0x123456787fffffff, 0xffffffff80000001, 0x7fffffff)
    TEST_AMO_W(31, amoadd.w, 0xffffffff, 1, 0xffffffffffffffff, 0)   /* no carry out */
    TEST_AMO_W(32, amoadd.w, 0x7fffffff, 1, 0x7fffffff, 0x80000000)
    TEST_AMO_W(33, amoxor.w, 0xff00ff00, 0x0ff00ff0, 0xffffffffff00ff00, 0xf0f0f0f0)
    TEST_AMO_W(34, amoand.w, 0xff00ff00, 0x0ff00ff0, 0xffffffffff00ff00, 0x0f000f00)
    TEST_AMO_W(35, amoor.w, 0x0f00ff00, 0x0ff00ff0, 0x0f00ff00, 0x0ff0fff0)
    TEST_AMO_W(36, amomin.w, 0x80000001, 0x100000005, 0xffffffff80000001, 0x80000001)
    TEST_AMO_W(37, amomin.w, 5, 0xffffffff, 5, 0xffffffff)           /* -1 as 32 bits */
    TEST_AMO_W(38, amomax.w, 0x80000001, 0x100000005, 0xffffffff80000001, 5)
    TEST_AMO_W(39, amomax.w, 5, 0x7fffffff00000003, 5, 5)            /* rs2 low word = 3 */
    TEST_AMO_W(40, amominu.w, 0x80000001, 0x100000005, 0xffffffff80000001, 5)
    TEST_AMO_W(41, amominu.w, 5, 0xffffffff, 5, 5)
    TEST_AMO_W(42, amomaxu.w, 0x80000001, 0x100000005, 0xffffffff80000001, 0x80000001)
    TEST_AMO_W(43, amomaxu.w, 5, 0xffffffff00000004, 5, 5)           /* upper rs2 bits ignored */
    TEST_AMO_W(44, amoadd.w.aqrl, 40, 2, 40, 42)
    TEST_AMO_W(45, amoswap.w.aq, 1, 2, 1, 2)

    TEST_NUM(46)                     /* AMO on the upper word of a doubleword */
    la a1, amo_buf
    li a2, 0x8000000000000007
    sd a2, 0(a1)
    li a2, 1
    addi a5, a1, 4
    amoadd.w a0, a2, (a5)
    CHECK a0, 0xffffffff80000000
    ld a3, 0(a1)
    CHECK a3, 0x8000000100000007
    TEST_NUM(47)                     /* rd = x0: memory still updated */
    li a2, 9
    amoswap.d x0, a2, (a1)
    ld a3, 0(a1)
    CHECK a3, 9
    CHECK x0, 0
    TEST_NUM(48)                     /* rd == rs2 */
    li a2, 4
    amoadd.d a2, a2, (a1)
    CHECK a2, 9
    ld a3, 0(a1)
    CHECK a3, 13

    /* ---- misaligned atomics trap (8.2, 8.4) ---- */
    la a1, amo_buf
    li a2, 0x0123456789abcdef
    sd a2, 0(a1)
    sd a2, 8(a1)
    li a0, 0x55
    addi a1, a1, 2
    TEST_EXC_NOTVAL(50, CAUSE_MISALIGNED_STORE, amoadd.w a0, a2, (a1))
    CHECK_TA_ADDR TA_TVAL, amo_buf + 2
    CHECK a0, 0x55                   /* rd not written */
    addi a1, a1, 2
    TEST_EXC_NOTVAL(51, CAUSE_MISALIGNED_STORE, amoswap.d a0, a2, (a1))
    CHECK_TA_ADDR TA_TVAL, amo_buf + 4
    addi a1, a1, 3
    TEST_EXC_NOTVAL(52, CAUSE_MISALIGNED_STORE, amomaxu.w a0, a2, (a1))
    CHECK_TA_ADDR TA_TVAL, amo_buf + 7
    TEST_EXC_NOTVAL(53, CAUSE_MISALIGNED_LOAD, lr.w a0, (a1))
    CHECK_TA_ADDR TA_TVAL, amo_buf + 7
    la a1, amo_buf + 4
    TEST_EXC_NOTVAL(54, CAUSE_MISALIGNED_LOAD, lr.d a0, (a1))
    CHECK_TA_ADDR TA_TVAL, amo_buf + 4
    TEST_NUM(55)                     /* memory unchanged by the faulting AMOs */
    CHECK a0, 0x55
    la a1, amo_buf
    ld a3, 0(a1)
    CHECK a3, 0x0123456789abcdef
    ld a3, 8(a1)
    CHECK a3, 0x0123456789abcdef

TEST_END

    .data
    .align 6
amo_buf:
    .dword 0, 0, 0, 0, 0, 0, 0, 0
far_buf:                             /* 64 bytes away: another reservation set */
    .dword 0, 0, 0, 0, 0, 0, 0, 0
