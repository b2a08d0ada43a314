/* Synchronous exceptions taken to M-mode (privileged spec 3.1.15 mcause, table 3.6;
 * 3.1.14 mepc; 3.1.16 mtval; 3.3.1 ECALL/EBREAK).
 *
 * - Illegal instruction (cause 2): reserved 32-bit encodings, a write to a read-only
 *   CSR, MRET/SRET/WFI/SFENCE.VMA in U-mode, MRET in S-mode; mtval = the instruction
 *   bits (QEMU writes them; the spec allows 0 or the bits); rd not written.
 * - Breakpoint (3): EBREAK, mtval = 0 (what QEMU 7.2 writes; the spec allows 0 or the
 *   pc).
 * - ECALL from U (8), S (9), M (11), mtval = 0.
 * - Load (5), store/AMO (7) and instruction (1) access faults on addresses with no
 *   device, from M- and U-mode; mtval = the faulting address, mepc = the instruction
 *   (for a fetch fault, the target address).
 * - mepc always holds the address of the trapping instruction, mstatus.MPP the mode
 *   the trap came from; nothing of the trapping instruction is written back.
 * - Instruction-address-misaligned cannot happen with C: JALR clears bit 0 of the
 *   target, branches and JAL reach 2-byte-aligned targets.
 * Page faults are covered by the sv*.S tests, misaligned AMOs by rv64a.S. An AMO to a
 * hole (store/AMO access fault, 7) is in qemu_deviations.S: QEMU 7.2 reports 5.
 */
#include "test_macros.h"

#define HOLE 0x40000000          /* no device here on the spike board (tern and QEMU) */

TEST_BEGIN

    /* ---- illegal instruction in M-mode ---- */
    TEST_ILLEGAL(1, .word 0xfe000033)            /* OP with funct7 = 1111111 */
    TEST_ILLEGAL(2, .word 0x7e00003b)            /* OP-32 with funct7 = 0111111 */
    TEST_ILLEGAL(3, .word 0x00007003)            /* LOAD with funct3 = 111 */
    TEST_ILLEGAL(4, unimp)                       /* csrrw x0, cycle, x0 */
    TEST_NUM(5)                                  /* rd is not written */
    li a0, 0x77
    TRAP_ARM 1f
    .word 0x00007503                             /* "load" funct3 = 111 into a0 */
    j fail_no_trap
1:  CHECK a0, 0x77
    CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA TA_TVAL, 0x00007503

    /* ---- breakpoint and environment calls (3.3.1) ---- */
    TEST_EXC(6, CAUSE_BREAKPOINT, 0, ebreak)
    TEST_EXC(7, CAUSE_MACHINE_ECALL, 0, ecall)
    TEST_NUM(8)                                  /* mstatus.MPP = M for a trap from M */
    CHECK_TA_MASK TA_MSTATUS, MSTATUS_MPP, MSTATUS_MPP_M
    TEST_NUM(9)                                  /* ECALL from S-mode */
    RUN_IN MSTATUS_MPP_S, 2f, 3f
2:  ecall
    j fail
3:  CHECK_TA TA_CAUSE, CAUSE_SUPERVISOR_ECALL
    CHECK_TA_ADDR TA_EPC, 2b
    CHECK_TA TA_TVAL, 0
    CHECK_TA_MASK TA_MSTATUS, MSTATUS_MPP, MSTATUS_MPP_S
    TEST_NUM(10)                                 /* ECALL from U-mode */
    RUN_IN 0, 4f, 5f
4:  ecall
    j fail
5:  CHECK_TA TA_CAUSE, CAUSE_USER_ECALL
    CHECK_TA_ADDR TA_EPC, 4b
    CHECK_TA TA_TVAL, 0
    CHECK_TA_MASK TA_MSTATUS, MSTATUS_MPP, 0
    TEST_NUM(11)                                 /* EBREAK from U-mode */
    RUN_IN 0, 6f, 7f
6:  ebreak
    j fail
7:  CHECK_TA TA_CAUSE, CAUSE_BREAKPOINT
    CHECK_TA_ADDR TA_EPC, 6b

    /* ---- privileged instructions in U-mode are illegal ---- */
    TEST_NUM(12)
    RUN_IN 0, 10f, 11f
10: mret
    j fail
11: CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 10b
    CHECK_TVAL_INSN
    TEST_NUM(13)
    RUN_IN 0, 12f, 13f
12: sret
    j fail
13: CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 12b
    CHECK_TVAL_INSN
    TEST_NUM(14)                                 /* WFI in U-mode (3.3.3; QEMU traps) */
    RUN_IN 0, 14f, 15f
14: wfi
    j fail
15: CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 14b
    TEST_NUM(15)                                 /* MRET in S-mode */
    RUN_IN MSTATUS_MPP_S, 16f, 17f
16: mret
    j fail
17: CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 16b
    TEST_NUM(16)                                 /* SFENCE.VMA in U-mode */
    RUN_IN 0, 18f, 19f
18: sfence.vma
    j fail
19: CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 18b

    /* ---- access faults (3.7, and the platform's holes in the memory map) ---- */
    li a1, HOLE
    TEST_EXC(17, CAUSE_LOAD_ACCESS, HOLE + 8, ld a0, 8(a1))
    TEST_EXC(18, CAUSE_LOAD_ACCESS, HOLE + 3, lbu a0, 3(a1))
    TEST_EXC(19, CAUSE_STORE_ACCESS, HOLE + 16, sd a0, 16(a1))
    TEST_EXC(20, CAUSE_STORE_ACCESS, HOLE + 2, sh a0, 2(a1))
    TEST_EXC(21, CAUSE_STORE_ACCESS, HOLE - 1, sb a0, -1(a1))
    TEST_EXC(22, CAUSE_LOAD_ACCESS, HOLE, lr.d a0, (a1))
    TEST_EXC(23, CAUSE_LOAD_ACCESS, 0, ld a0, 0(zero))
    TEST_EXC(24, CAUSE_LOAD_ACCESS, HOLE, flw fa0, 0(a1))
    TEST_EXC(25, CAUSE_STORE_ACCESS, HOLE + 8, fsd fa0, 8(a1))
    TEST_NUM(26)                                 /* fetch fault: mepc = mtval = target */
    TRAP_ARM 20f
    li a1, HOLE + 0x100
    jalr ra, 0(a1)
    j fail
20: CHECK_TA TA_CAUSE, CAUSE_FETCH_ACCESS
    CHECK_TA TA_EPC, HOLE + 0x100
    CHECK_TA TA_TVAL, HOLE + 0x100
    TEST_NUM(27)                                 /* load access fault from U-mode */
    RUN_IN 0, 21f, 22f
21: li a1, HOLE
28: lw a0, 4(a1)
    j fail
22: CHECK_TA TA_CAUSE, CAUSE_LOAD_ACCESS
    CHECK_TA_ADDR TA_EPC, 28b
    CHECK_TA TA_TVAL, HOLE + 4
    TEST_NUM(28)                                 /* store access fault from S-mode */
    RUN_IN MSTATUS_MPP_S, 23f, 24f
23: li a1, HOLE
29: sw a0, 4(a1)
    j fail
24: CHECK_TA TA_CAUSE, CAUSE_STORE_ACCESS
    CHECK_TA_ADDR TA_EPC, 29b
    CHECK_TA TA_TVAL, HOLE + 4
    TEST_NUM(29)                                 /* nothing written back by the faulting load */
    li a0, 0x99
    li a1, HOLE
    TRAP_ARM 25f
    ld a0, 0(a1)
    j fail
25: CHECK a0, 0x99

    /* ---- no misaligned fetch with C (3.1.15; 2.5): JALR clears bit 0 ---- */
    la t0, trap_area
    ld s4, TA_COUNT(t0)                          /* traps taken so far */
    TEST_NUM(30)
    la a1, 26f
    addi a1, a1, 1
    jalr ra, 0(a1)
    j fail
    .balign 4
26: nop
    TEST_NUM(31)
    la a1, 27f + 2
    jalr ra, 1(a1)                               /* 27f + 3: bit 0 cleared -> 27f + 2 */
    j fail
    .balign 4
    nop
27: .option push
    .option rvc
    c.nop
    c.nop                                        /* lands here: 27f + 2 */
    .option pop
    TEST_NUM(32)                                 /* the jumps did not trap */
    la t0, trap_area
    ld a0, TA_COUNT(t0)
    CHECK_REG a0, s4

TEST_END
