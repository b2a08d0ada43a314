/* Zba: address generation (bit-manipulation spec 1.0.0, chapter 2.1).
 *
 * ADD.UW (zero-extends the low word of rs1 before adding), SH1ADD/SH2ADD/SH3ADD,
 * their .UW forms (shift the zero-extended low word of rs1), and SLLI.UW (shift of the
 * zero-extended low word by up to 63). zext.w is ADD.UW with rs2 = x0.
 */
#include "test_macros.h"

TEST_BEGIN
    .option arch, +zba

    TEST_RR(1, add.uw, 0x0000000100000000, 0xffffffffffffffff, 1)
    TEST_RR(2, add.uw, 0x0000000080000005, 0x1234567880000000, 5)
    TEST_RR(3, add.uw, 0xffffffffffffffff, 0x8000000000000000, -1)   /* low word 0 */
    TEST_R(4, zext.w, 0x00000000ffffffff, 0xffffffffffffffff)
    TEST_R(5, zext.w, 0x0000000080000000, 0x7fffffff80000000)
    TEST_RR(6, sh1add, 0x0000000000000007, 3, 1)
    TEST_RR(7, sh1add, 0xfffffffffffffffe, 0xffffffffffffffff, 0)
    TEST_RR(8, sh1add, 0x0000000000000000, 0x8000000000000000, 0)    /* bit 63 shifted out */
    TEST_RR(9, sh2add, 0x0000000000000010, 3, 4)
    TEST_RR(10, sh2add, 0xfffffffffffffffc, 0x7fffffffffffffff, 0)
    TEST_RR(11, sh3add, 0x0000000000000020, 3, 8)
    TEST_RR(12, sh3add, 0x0000000000000001, 0x2000000000000000, 1)
    TEST_RR(13, sh1add.uw, 0x00000001fffffffe, 0xffffffffffffffff, 0)
    TEST_RR(14, sh1add.uw, 0x0000000000000009, 0xabcdef0000000004, 1)
    TEST_RR(15, sh2add.uw, 0x00000003fffffffc, 0xffffffffffffffff, 0)
    TEST_RR(16, sh2add.uw, 0x0000000200000000, 0x80000000, 0)
    TEST_RR(17, sh3add.uw, 0x00000007fffffff8, 0xffffffffffffffff, 0)
    TEST_RR(18, sh3add.uw, 0x0000000000000000, 0xffffffff00000000, 0)
    TEST_RR(19, sh3add.uw, 0xffffffffffffffff, 0x1000000000000000, -1)
    TEST_RI(20, slli.uw, 0x00000000ffffffff, 0xffffffffffffffff, 0)
    TEST_RI(21, slli.uw, 0x0000001fffffffe0, 0xffffffffffffffff, 5)
    TEST_RI(22, slli.uw, 0x8000000000000000, 0x0000000100000001, 63)
    TEST_RI(23, slli.uw, 0xffffffff00000000, 0x12345678ffffffff, 32)
    TEST_CASE(24, a1, 0x0000000000000006, li a1, 3; sh1add a1, a1, x0)   /* rd == rs1 */
    TEST_CASE(25, x0, 0, li a1, 3; sh1add x0, a1, a1)

TEST_END
