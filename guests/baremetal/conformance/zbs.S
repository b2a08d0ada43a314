/* Zbs: single-bit instructions (bit-manipulation spec 1.0.0, chapter 2.4).
 *
 * BCLR/BCLRI, BEXT/BEXTI, BINV/BINVI, BSET/BSETI on bits 0, 31, 32 and 63; the
 * register forms use only the low 6 bits of rs2.
 */
#include "test_macros.h"

TEST_BEGIN
    .option arch, +zbs

    TEST_RR(1, bclr, 0xfffffffffffffffe, -1, 0)
    TEST_RR(2, bclr, 0x7fffffffffffffff, -1, 63)
    TEST_RR(3, bclr, 0xfffffffeffffffff, -1, 32)
    TEST_RR(4, bclr, 0xffffffff7fffffff, -1, 31)
    TEST_RR(5, bclr, 0x7fffffffffffffff, -1, 127)       /* index mod 64 */
    TEST_RR(6, bclr, 0x0000000000000000, 0, 5)
    TEST_RI(7, bclri, 0x7fffffffffffffff, -1, 63)
    TEST_RI(8, bclri, 0x0000000000000001, 3, 1)
    TEST_RR(9, bext, 1, 0x8000000000000000, 63)
    TEST_RR(10, bext, 0, 0x7fffffffffffffff, 63)
    TEST_RR(11, bext, 1, 0x0000000100000000, 32)
    TEST_RR(12, bext, 1, 0x0000000100000000, 0xffffffffffffffe0)   /* 32 mod 64 */
    TEST_RI(13, bexti, 1, 0x80000000, 31)
    TEST_RI(14, bexti, 0, 0x80000000, 30)
    TEST_RR(15, binv, 0x8000000000000001, 1, 63)
    TEST_RR(16, binv, 0x0000000000000000, 1, 0)
    TEST_RR(17, binv, 0x0000000100000000, 0, 96)
    TEST_RI(18, binvi, 0xffffffff7fffffff, -1, 31)
    TEST_RI(19, binvi, 0x0000000000000005, 1, 2)
    TEST_RR(20, bset, 0x8000000000000000, 0, 63)
    TEST_RR(21, bset, 0x0000000000000001, 1, 0)
    TEST_RR(22, bset, 0x0000000100000000, 0, 32)
    TEST_RI(23, bseti, 0x0000000080000000, 0, 31)
    TEST_RI(24, bseti, 0xffffffffffffffff, -1, 17)
    TEST_CASE(25, a1, 0x0000000000000010, li a1, 4; bset a1, x0, a1)   /* rd == rs2 */

TEST_END
