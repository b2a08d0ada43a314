/* Zicond: integer conditional operations (Zicond spec 1.0, chapter 2).
 *
 * CZERO.EQZ rd, rs1, rs2: rd = (rs2 == 0) ? 0 : rs1.
 * CZERO.NEZ rd, rs1, rs2: rd = (rs2 != 0) ? 0 : rs1.
 * The condition looks at all 64 bits of rs2; register aliasing and rd = x0.
 * binutils 2.40 has no Zicond mnemonics: the encodings are written with .insn
 * (OP opcode, funct7 = 0000111, funct3 = 101 for EQZ and 111 for NEZ).
 *
 * QEMU 7.2 has no Zicond (`-cpu rv64,zicond=true`: "Property 'rv64-riscv-cpu.zicond'
 * not found"; its `xventanacondops` uses other encodings), so this runs on tern only.
 */
// qemu: no — QEMU 7.2 has no Zicond (property rv64-riscv-cpu.zicond not found)
#include "test_macros.h"

#define CZERO_EQZ(rd, rs1, rs2) .insn r OP, 5, 7, rd, rs1, rs2
#define CZERO_NEZ(rd, rs1, rs2) .insn r OP, 7, 7, rd, rs1, rs2

TEST_BEGIN
    TEST_CASE(1, a0, 0, li a1, 0x1234; li a2, 0; CZERO_EQZ(a0, a1, a2))
    TEST_CASE(2, a0, 0x1234, li a1, 0x1234; li a2, 5; CZERO_EQZ(a0, a1, a2))
    TEST_CASE(3, a0, 0x1234, li a1, 0x1234; li a2, 0; CZERO_NEZ(a0, a1, a2))
    TEST_CASE(4, a0, 0, li a1, 0x1234; li a2, 5; CZERO_NEZ(a0, a1, a2))
    TEST_CASE(5, a0, -1, li a1, -1; li a2, 0x8000000000000000; CZERO_EQZ(a0, a1, a2))
    TEST_CASE(6, a0, 0, li a1, -1; li a2, 0x8000000000000000; CZERO_NEZ(a0, a1, a2))
    TEST_CASE(7, a0, -1, li a1, -1; li a2, 0x100000000; CZERO_EQZ(a0, a1, a2))   /* 64-bit test */
    TEST_CASE(8, a0, 0, li a0, 7; li a1, -1; CZERO_EQZ(a0, a1, x0))
    TEST_CASE(9, a0, -1, li a0, 7; li a1, -1; CZERO_NEZ(a0, a1, x0))
    TEST_CASE(10, a1, 3, li a1, 3; CZERO_EQZ(a1, a1, a1))                      /* all aliased */
    TEST_CASE(11, a1, 0, li a1, 3; CZERO_NEZ(a1, a1, a1))
    TEST_CASE(12, x0, 0, li a1, 3; CZERO_NEZ(x0, a1, x0))
TEST_END
