/* Debug triggers (Sdtrig, RISC-V Debug Specification 1.0, chapter 5): tselect,
 * tdata1-3, tinfo, and address/data match triggers of type 2 (mcontrol) and type 6
 * (mcontrol6) for execute, load and store, with action 0 (a breakpoint exception).
 * The equivalent of riscv-tests' rv64mi-p-breakpoint, per trigger type.
 *
 * Spec rules checked:
 * - tselect selects a trigger; a value past the last trigger is not kept (5.7.1,
 *   WARL: debuggers count triggers by writing tselect and reading it back).
 * - tinfo lists the supported types (bit 2 mcontrol, bit 6 mcontrol6) (5.7.5).
 * - tdata1 of a trigger starts as type 2 with no mode enabled (what QEMU and Spike
 *   reset to; the spec lets an implementation choose) and reads back what was written
 *   for the fields used here (type, m/s/u, execute/load/store, match 0).
 * - An execute trigger fires before the instruction at tdata2 executes; a load or
 *   store trigger fires before the access: the load's destination and the stored
 *   memory are unchanged (5.5: "before" timing, which mcontrol6 always has). The
 *   exception is a breakpoint (cause 3) with mepc at the instruction.
 * - The m/s/u bits select the privilege modes a trigger fires in (5.7.9).
 * - A load trigger ignores stores and a store trigger ignores loads; another address
 *   does not match; two triggers fire independently. (An access near the address is
 *   not tried: QEMU 7.2 matches 8 bytes from tdata2 for an access of any size, tern
 *   an access that includes the byte at tdata2.)
 * mtval is not checked: QEMU 7.2 and the spec (privileged 3.1.16: the faulting
 * address, or zero) may differ.
 */
#include "test_macros.h"

#define CSR_TSELECT 0x7a0
#define CSR_TDATA1  0x7a1
#define CSR_TDATA2  0x7a2
#define CSR_TDATA3  0x7a3
#define CSR_TINFO   0x7a4

#define T_LOAD    (1 << 0)
#define T_STORE   (1 << 1)
#define T_EXECUTE (1 << 2)
#define T_U       (1 << 3)
#define T_S       (1 << 4)
#define T_M       (1 << 6)
#define MCONTROL  (2 << 60)
#define MCONTROL6 (6 << 60)

/* Arms trigger `n` of `type` with `bits` at the address of `sym`. */
.macro TRIGGER n, type, bits, sym
    li t0, \n
    csrw CSR_TSELECT, t0
    la t0, \sym
    csrw CSR_TDATA2, t0
    li t0, \type | \bits
    csrw CSR_TDATA1, t0
.endm

/* Disarms trigger `n` (type kept, no mode and no access type selected). */
.macro DISARM n, type
    li t0, \n
    csrw CSR_TSELECT, t0
    li t0, \type
    csrw CSR_TDATA1, t0
.endm

/* The execute, load and store checks for one trigger type, checks base..base+9. */
.macro ACCESS_CHECKS base, type
    /* Execute: fires before the instruction at the address. */
    TEST_NUM(\base)
    TRIGGER 0, \type, T_M | T_EXECUTE, 1f
    CHECK_CSR CSR_TDATA1, \type | T_M | T_EXECUTE
    li a0, 5
    TRAP_ARM 2f
1:  li a0, 7
    j fail_no_trap
2:  CHECK_TA TA_CAUSE, CAUSE_BREAKPOINT
    CHECK_TA_ADDR TA_EPC, 1b
    CHECK a0, 5
    DISARM 0, \type
    /* Loads and stores to the address do not fire an execute trigger. */
    TEST_NUM(\base + 1)
    TRIGGER 0, \type, T_M | T_EXECUTE, data1
    la a1, data1
    lw a0, 0(a1)
    sw a0, 0(a1)
    DISARM 0, \type
    /* Load: fires before the load, whose destination keeps its value. */
    TEST_NUM(\base + 2)
    TRIGGER 0, \type, T_M | T_LOAD, data1
    CHECK_CSR CSR_TDATA1, \type | T_M | T_LOAD
    la a1, data1
    li a0, 0x55
    TRAP_ARM 4f
3:  lw a0, 0(a1)
    j fail_no_trap
4:  CHECK_TA TA_CAUSE, CAUSE_BREAKPOINT
    CHECK_TA_ADDR TA_EPC, 3b
    CHECK a0, 0x55
    /* A store to the address and a load elsewhere do not fire it. */
    TEST_NUM(\base + 3)
    li a0, 0x1234
    sw a0, 0(a1)
    la a2, data2
    lw a0, 0(a2)
    DISARM 0, \type
    TEST_NUM(\base + 4)
    lw a0, 0(a1)
    CHECK a0, 0x1234
    /* Store: fires before the store, which leaves memory unchanged. */
    TEST_NUM(\base + 5)
    TRIGGER 0, \type, T_M | T_STORE, data1
    la a1, data1
    li a0, 0x77
    TRAP_ARM 6f
5:  sw a0, 0(a1)
    j fail_no_trap
6:  CHECK_TA TA_CAUSE, CAUSE_BREAKPOINT
    CHECK_TA_ADDR TA_EPC, 5b
    lw a0, 0(a1)          /* a load does not fire a store trigger */
    CHECK a0, 0x1234
    DISARM 0, \type
    /* Privilege filter: a U-only load trigger does not fire in M-mode... */
    TEST_NUM(\base + 6)
    TRIGGER 0, \type, T_U | T_LOAD, data1
    la a1, data1
    lw a0, 0(a1)
    /* ... and fires in U-mode (the breakpoint is taken into M-mode). */
    TEST_NUM(\base + 7)
    li a0, 0x99
    RUN_IN 0, 7f, 8f
7:  lw a0, 0(a1)
    ecall
8:  CHECK_TA TA_CAUSE, CAUSE_BREAKPOINT
    CHECK_TA_ADDR TA_EPC, 7b
    CHECK a0, 0x99
    DISARM 0, \type
    /* Two triggers fire independently: trigger 1 on data2, trigger 0 on data1. */
    TEST_NUM(\base + 8)
    TRIGGER 0, \type, T_M | T_STORE, data1
    TRIGGER 1, \type, T_M | T_LOAD, data2
    la a2, data2
    TRAP_ARM 10f
9:  lw a0, 0(a2)
    j fail_no_trap
10: CHECK_TA TA_CAUSE, CAUSE_BREAKPOINT
    CHECK_TA_ADDR TA_EPC, 9b
    TEST_NUM(\base + 9)
    la a1, data1
    TRAP_ARM 12f
11: sw a1, 0(a1)
    j fail_no_trap
12: CHECK_TA TA_CAUSE, CAUSE_BREAKPOINT
    CHECK_TA_ADDR TA_EPC, 11b
    DISARM 0, \type
    DISARM 1, \type
.endm

TEST_BEGIN
    /* tselect keeps 0 and 1 (two triggers at least) and refuses a far index. */
    TEST_NUM(1)
    csrwi CSR_TSELECT, 1
    CHECK_CSR CSR_TSELECT, 1
    li t0, 0x4000
    csrw CSR_TSELECT, t0
    csrr a0, CSR_TSELECT
    li t0, 0x4000
    beq a0, t0, fail
    csrw CSR_TSELECT, zero
    CHECK_CSR CSR_TSELECT, 0
    /* tinfo: mcontrol and mcontrol6 supported. */
    TEST_NUM(2)
    CHECK_CSR_MASK CSR_TINFO, (1 << 2) | (1 << 6), (1 << 2) | (1 << 6)
    /* Reset: type 2, no mode enabled (so it never fires). */
    TEST_NUM(3)
    CHECK_CSR_MASK CSR_TDATA1, (0xf << 60) | T_M | T_S | T_U, MCONTROL
    /* tdata2 holds an address. */
    TEST_NUM(4)
    li t0, 0x80001234
    csrw CSR_TDATA2, t0
    CHECK_CSR CSR_TDATA2, 0x80001234

    ACCESS_CHECKS 10, MCONTROL
    ACCESS_CHECKS 30, MCONTROL6

    /* The triggers are not accessible from S-mode (they are M-mode CSRs here). */
    TEST_NUM(50)
    RUN_IN MSTATUS_MPP_S, 1f, 2f
1:  csrr a0, CSR_TSELECT
    j fail
2:  CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
TEST_END

    .data
    .align 3
data1: .word 0, 0
data2: .word 0, 0
