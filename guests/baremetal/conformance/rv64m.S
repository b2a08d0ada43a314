/* M extension: integer multiplication and division (unprivileged spec, chapter 7).
 *
 * MUL/MULH/MULHSU/MULHU with signed/unsigned extremes, the W forms (32-bit result
 * sign-extended), DIV/DIVU/REM/REMU rounding toward zero with the remainder taking the
 * sign of the dividend, and the two special cases of table 7.1, which never trap:
 * division by zero (quotient all ones, remainder = dividend) and signed overflow
 * (-2^(L-1) / -1 = -2^(L-1), remainder 0), for 64-bit and 32-bit (W) forms.
 */
#include "test_macros.h"

TEST_BEGIN

    /* ---- multiplication (7.1) ---- */
    TEST_RR(1, mul, 42, 6, 7)
    TEST_RR(2, mul, 0xfffffffffffffffe, 0x7fffffffffffffff, 2)
    TEST_RR(3, mul, 0x8000000000000000, 0x8000000000000000, -1)
    TEST_RR(4, mul, 0xfffffffffffffff9, 7, -1)
    TEST_RR(5, mul, 0x0000000000000001, -1, -1)
    TEST_RR(6, mulh, 0, -1, -1)
    TEST_RR(7, mulh, 0x4000000000000000, 0x8000000000000000, 0x8000000000000000)
    TEST_RR(8, mulh, 0xffffffffffffffff, -1, 1)
    TEST_RR(9, mulh, 0xc000000000000000, 0x8000000000000000, 0x7fffffffffffffff) /* -2^63*(2^63-1) */
    TEST_RR(10, mulhu, 0xfffffffffffffffe, -1, -1)
    TEST_RR(11, mulhu, 1, 0x8000000000000000, 2)
    TEST_RR(12, mulhu, 0, 0xffffffff, 0xffffffff)
    TEST_RR(13, mulhsu, 0xffffffffffffffff, -1, -1)       /* -1 * (2^64-1) */
    TEST_RR(14, mulhsu, 0xffffffffffffffff, 0x8000000000000000, 2)
    TEST_RR(15, mulhsu, 1, 2, 0x8000000000000000)         /* rs2 is unsigned */
    TEST_RR(16, mulhsu, 0, 5, 7)
    TEST_RR(17, mulw, 0xfffffffffffffffe, 0x7fffffff, 2)
    TEST_RR(18, mulw, 1, 0x100000001, 0x100000001)        /* upper halves ignored */
    TEST_RR(19, mulw, 0, 0x10000, 0x10000)
    TEST_RR(20, mulw, 0xffffffff80000000, 0x40000000, 2)

    /* ---- division, rounding toward zero (7.2) ---- */
    TEST_RR(21, div, 0xfffffffffffffffd, -7, 2)
    TEST_RR(22, div, 0xfffffffffffffffd, 7, -2)
    TEST_RR(23, div, 3, -7, -2)
    TEST_RR(24, rem, 0xffffffffffffffff, -7, 2)           /* sign of the dividend */
    TEST_RR(25, rem, 1, 7, -2)
    TEST_RR(26, rem, 0xffffffffffffffff, -7, -2)
    TEST_RR(27, divu, 0x7fffffffffffffff, -1, 2)
    TEST_RR(28, remu, 1, -1, 2)
    TEST_RR(29, divu, 0, 7, -2)
    TEST_RR(30, remu, 7, 7, -2)

    /* ---- division by zero (table 7.1) ---- */
    TEST_RR(31, div, 0xffffffffffffffff, 12345, 0)
    TEST_RR(32, div, 0xffffffffffffffff, -12345, 0)
    TEST_RR(33, divu, 0xffffffffffffffff, 12345, 0)
    TEST_RR(34, rem, 12345, 12345, 0)
    TEST_RR(35, rem, -12345, -12345, 0)
    TEST_RR(36, remu, 0x8000000000000001, 0x8000000000000001, 0)

    /* ---- signed overflow (table 7.1) ---- */
    TEST_RR(37, div, 0x8000000000000000, 0x8000000000000000, -1)
    TEST_RR(38, rem, 0, 0x8000000000000000, -1)

    /* ---- 32-bit forms (7.2): operands are the low 32 bits, result sign-extended ---- */
    TEST_RR(39, divw, 0xfffffffffffffffd, -7, 2)
    TEST_RR(40, divw, 3, 0x100000007, 2)
    TEST_RR(41, remw, 0xffffffffffffffff, -7, 2)
    TEST_RR(42, divuw, 0x7fffffff, 0xffffffff, 2)
    TEST_RR(43, divuw, 0xffffffff80000000, 0x80000000, 1) /* 32-bit result sign-extended */
    TEST_RR(44, remuw, 0xffffffff80000001, 0x80000001, 0x80000002)
    TEST_RR(45, divw, 0xffffffffffffffff, 0x1234, 0x100000000) /* divisor's low half is 0 */
    TEST_RR(46, divuw, 0xffffffffffffffff, 0x1234, 0)
    TEST_RR(47, remw, 0xffffffff80000000, 0x80000000, 0)
    TEST_RR(48, remuw, 0xffffffff80000005, 0x1234567880000005, 0)
    TEST_RR(49, divw, 0xffffffff80000000, 0x80000000, -1) /* overflow */
    TEST_RR(50, remw, 0, 0x80000000, -1)
    TEST_RR(51, divw, 0xffffffff80000000, 0xffffffff80000000, 0xffffffff)
    TEST_RR(52, remuw, 3, 0xffffffff00000003, 5)

    /* ---- rd aliasing a source ---- */
    TEST_CASE(53, a1, 21, li a1, 42; li a2, 2; div a1, a1, a2)
    TEST_CASE(54, a2, 36, li a2, 6; mul a2, a2, a2)
    TEST_CASE(55, x0, 0, li a1, 3; mul x0, a1, a1)

TEST_END
