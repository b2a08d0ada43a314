/* Zbb: basic bit manipulation (bit-manipulation spec 1.0.0, chapter 2.2).
 *
 * ANDN/ORN/XNOR; CLZ/CTZ/CPOP and their W forms (counting in the low word, 32 for a
 * zero word); MAX/MAXU/MIN/MINU; SEXT.B/SEXT.H/ZEXT.H; ROL/ROR/RORI and ROLW/RORW/
 * RORIW (rotate the low word, sign-extend the result, 5-bit amounts); ORC.B; REV8.
 */
#include "test_macros.h"

TEST_BEGIN
    .option arch, +zbb

    /* ---- logical with negate ---- */
    TEST_RR(1, andn, 0x00f000f000f000f0, 0x0ff00ff00ff00ff0, 0xff00ff00ff00ff00)
    TEST_RR(2, orn, 0x0fff0fff0fff0fff, 0x0ff00ff00ff00ff0, 0xff00ff00ff00ff00)
    TEST_RR(3, xnor, 0x0f0f0f0f0f0f0f0f, 0x0ff00ff00ff00ff0, 0xff00ff00ff00ff00)
    TEST_RR(4, andn, 0, -1, -1)

    /* ---- counts ---- */
    TEST_R(5, clz, 64, 0)
    TEST_R(6, clz, 0, -1)
    TEST_R(7, clz, 63, 1)
    TEST_R(8, clz, 31, 0x0000000100000000)
    TEST_R(9, clzw, 32, 0xffffffff00000000)            /* low word is zero */
    TEST_R(10, clzw, 0, 0x80000000)
    TEST_R(11, clzw, 31, 0xffffffff00000001)
    TEST_R(12, ctz, 64, 0)
    TEST_R(13, ctz, 63, 0x8000000000000000)
    TEST_R(14, ctz, 0, -1)
    TEST_R(15, ctz, 32, 0x0000000100000000)
    TEST_R(16, ctzw, 32, 0xffffffff00000000)
    TEST_R(17, ctzw, 31, 0x80000000)
    TEST_R(18, ctzw, 4, 0x0000000000000030)
    TEST_R(19, cpop, 64, -1)
    TEST_R(20, cpop, 0, 0)
    TEST_R(21, cpop, 8, 0x0101010101010101)
    TEST_R(22, cpopw, 32, -1)
    TEST_R(23, cpopw, 4, 0xffffffff01010101)
    TEST_R(24, cpopw, 0, 0xffffffff00000000)

    /* ---- min/max ---- */
    TEST_RR(25, max, 5, -1, 5)
    TEST_RR(26, max, 0x7fffffffffffffff, 0x8000000000000000, 0x7fffffffffffffff)
    TEST_RR(27, maxu, -1, -1, 5)
    TEST_RR(28, maxu, 0x8000000000000000, 0x8000000000000000, 0x7fffffffffffffff)
    TEST_RR(29, min, -1, -1, 5)
    TEST_RR(30, min, 0x8000000000000000, 0x8000000000000000, 0x7fffffffffffffff)
    TEST_RR(31, minu, 5, -1, 5)
    TEST_RR(32, minu, 0x7fffffffffffffff, 0x8000000000000000, 0x7fffffffffffffff)

    /* ---- sign/zero extension ---- */
    TEST_R(33, sext.b, 0xffffffffffffff80, 0x1234567890abcd80)
    TEST_R(34, sext.b, 0x000000000000007f, 0xffffffffffffff7f)
    TEST_R(35, sext.h, 0xffffffffffff8000, 0x1234567890ab8000)
    TEST_R(36, sext.h, 0x0000000000007fff, 0xffffffffffff7fff)
    TEST_R(37, zext.h, 0x000000000000ffff, 0xffffffffffffffff)
    TEST_R(38, zext.h, 0x0000000000008001, 0x1234567890ab8001)

    /* ---- rotates ---- */
    TEST_RR(39, rol, 0x0000000000000003, 0x8000000000000001, 1)
    TEST_RR(40, rol, 0x2345678901234561, 0x1234567890123456, 4)
    TEST_RR(41, rol, 0x8000000000000001, 0x8000000000000001, 64)   /* amount mod 64 */
    TEST_RR(42, ror, 0xc000000000000000, 0x8000000000000001, 1)
    TEST_RR(43, ror, 0x6123456789012345, 0x1234567890123456, 4)
    TEST_RI(44, rori, 0x0000000000000001, 0x8000000000000000, 63)
    TEST_RI(45, rori, 0x9012345612345678, 0x1234567890123456, 32)
    TEST_RR(46, rolw, 0x0000000000000003, 0x80000001, 1)
    TEST_RR(47, rolw, 0xffffffff80000000, 0xffffffff40000000, 1)    /* sign-extended */
    TEST_RR(48, rolw, 0xffffffff80000001, 0x12345678c0000000, 33)   /* amount mod 32 */
    TEST_RR(49, rorw, 0xffffffffc0000000, 0x80000001, 1)
    TEST_RR(50, rorw, 0x0000000012345678, 0xaaaaaaaa12345678, 32)
    TEST_RI(51, roriw, 0xffffffff80000000, 0x1, 1)
    TEST_RI(52, roriw, 0x0000000078123456, 0x12345678, 8)
    TEST_RI(53, roriw, 0x0000000000000002, 0xffffffff00000001, 31)

    /* ---- byte operations ---- */
    TEST_R(54, orc.b, 0xff00ff0000ff00ff, 0x0100800000400001)
    TEST_R(55, orc.b, 0x0000000000000000, 0)
    TEST_R(56, orc.b, 0xffffffffffffffff, 0x0101010101010101)
    TEST_R(57, rev8, 0xefcdab9078563412, 0x1234567890abcdef)
    TEST_R(58, rev8, 0x00000000000000ff, 0xff00000000000000)

TEST_END
