/* misa (privileged spec 3.1.1), with QEMU 7.2's `-machine spike` (cpu rv64 without
 * the hypervisor extension, which tern does not implement) as the reference for the
 * choices the spec leaves open.
 *
 * QEMU 7.2 with `-cpu rv64,h=false` reports misa = 0x800000000014112d: MXL = 2
 * (64-bit) and the letters A C D F I M S U. The checks:
 *   1  MXL (bits 63:62) = 2; bits 61:26 are zero.
 *   2  I, M, A, F, D, C, S, U are set (RV64GC with S- and U-mode).
 *   3  no other letter except possibly B and H: E, G (never a misa bit), Q, V, N... zero.
 *   4  misa is not writable on QEMU: writing 0 leaves it unchanged (WARL; the spec
 *      allows either).
 *   5  B (bit 1) is clear, as on QEMU 7.2 (which predates misa.B, ratified in 2024 for
 *      Zba+Zbb+Zbs, although it implements those extensions).
 *   6  H (bit 7) is clear: no hypervisor extension (QEMU's rv64 cpu has it on by
 *      default, hence `h=false` below).
 * Checks 5 and 6 are QEMU's choices rather than spec rules; they come last so that a
 * difference there is easy to tell from a real error.
 */
// qemu-args: -cpu rv64,h=false
#include "test_macros.h"

#define LETTER(c) (1 << ((c) - 'A'))
#define REQUIRED (LETTER('I') | LETTER('M') | LETTER('A') | LETTER('F') | LETTER('D') | LETTER('C') | LETTER('S') | LETTER('U'))

TEST_BEGIN
    TEST_NUM(1)
    csrr a0, misa
    srli a1, a0, 62
    CHECK a1, 2
    li t0, 0x3ffffffffc000000
    and a1, a0, t0
    CHECK a1, 0
    TEST_NUM(2)
    li t0, REQUIRED
    and a1, a0, t0
    CHECK a1, REQUIRED
    TEST_NUM(3)
    li t0, 0x3ffffff & ~(REQUIRED | LETTER('B') | LETTER('H'))
    and a1, a0, t0
    CHECK a1, 0
    TEST_NUM(4)
    csrw misa, zero
    csrr a1, misa
    CHECK_REG a1, a0
    TEST_NUM(5)
    andi a1, a0, LETTER('B')
    CHECK a1, 0
    TEST_NUM(6)
    andi a1, a0, LETTER('H')
    CHECK a1, 0
TEST_END
