/* Rules of the RISC-V specifications that QEMU 7.2 does not follow, checked on tern
 * only. Each check names the rule and what QEMU 7.2 does instead; the other test
 * files check everything QEMU does get right.
 *
 * 1-5 Zicsr (unprivileged spec 9.1): CSRRS/CSRRC with an rs1 other than x0 are writes
 *     even when rs1 holds 0 ("the instruction will still attempt to write the
 *     unmodified value back to the CSR"), so on a read-only CSR they raise illegal
 *     instruction (privileged spec 2.1), mtval = the instruction bits. QEMU 7.2 decides
 *     from the mask value and does not trap. CSRRSI/CSRRCI with uimm = 0 do not write.
 * 6-7 A (8.4) and privileged spec table 3.6: an AMO that hits no device raises a
 *     store/AMO access fault (cause 7), mtval = the address. QEMU 7.2 performs the AMO
 *     as a load then a store and reports a load access fault (cause 5).
 * 8-9 Privileged spec 3.1.6.3 (1.12): "An MRET or SRET instruction that changes the
 *     privilege mode to a mode less privileged than M also sets MPRV=0." QEMU 7.2
 *     leaves MPRV set (QEMU 8 clears it).
 * 10-11 Privileged spec 3.1.14 / 4.1.7: "The low bit of mepc (mepc[0]) is always
 *     zero" (sepc likewise). QEMU 7.2 stores and returns bit 0.
 * 12-13 Privileged spec 3.1.6.6: fflags is part of the floating-point state, so an
 *     instruction that only raises flags (FEQ/FCVT.W on a signaling NaN, integer
 *     destination) modifies that state and FS must become Dirty. QEMU 7.2 marks FS
 *     Dirty only when an f register or fcsr is written by the instruction itself.
 * 14-18 Privileged spec 3.1.9: "Multiple simultaneous interrupts destined for M-mode
 *     are handled in the following decreasing priority order: MEI, MSI, MTI, SEI, SSI,
 *     STI." QEMU 7.2 without AIA takes the lowest-numbered pending interrupt first
 *     (SSI, MSI, STI, MTI, SEI).
 * 19-20 Privileged spec 3.7.1: "Implementations may implement zero, 16, or 64 PMP
 *     entries ... All PMP CSR fields are WARL and may be read-only zero": with 16
 *     entries, pmpaddr16-63 and pmpcfg4-14 still exist and read zero (writes ignored).
 *     QEMU 7.2 raises illegal instruction for them.
 */
// qemu: no — these are the spec rules QEMU 7.2 breaks (CSRRS/CSRRC rs1!=x0 holding 0 on a read-only CSR does not trap; an AMO access fault is reported as cause 5; MRET/SRET to S/U keep MPRV; mepc/sepc bit 0 is kept; raising fflags alone leaves FS Clean; interrupt priority is lowest-cause-first; pmpaddr16-63/pmpcfg4-14 trap)
#include "test_macros.h"

#define HOLE 0x40000000          /* no device here on the spike board */

/* Enable interrupts with MIE and expect one with cause `cause` to be taken at once. */
.macro TAKE_NOW cause
    TRAP_ARM .Ltaken\@
    csrsi mstatus, MSTATUS_MIE
    nop
    j fail_no_trap
.Ltaken\@:
    CHECK_TA TA_CAUSE, \cause
.endm

TEST_BEGIN
    li a1, 0
    TEST_ILLEGAL(1, csrrs a0, mhartid, a1)
    TEST_ILLEGAL(2, csrrc a0, mvendorid, a1)
    TEST_ILLEGAL(3, csrrs x0, cycle, a1)
    TEST_ILLEGAL(4, csrrc a0, instret, a1)
    TEST_NUM(5)                          /* the immediate forms with 0 only read */
    csrrsi a0, mhartid, 0
    csrrci a0, mimpid, 0
    csrrs a0, mhartid, x0

    li a1, HOLE
    TEST_EXC(6, CAUSE_STORE_ACCESS, HOLE, amoadd.w a0, a2, (a1))
    addi a1, a1, 8
    TEST_EXC(7, CAUSE_STORE_ACCESS, HOLE + 8, amoswap.d a0, a2, (a1))

    /* satp is Bare, so MPRV = 1 with MPP = S or U changes no M-mode access here */
    TEST_NUM(8)                          /* MRET to S clears MPRV */
    li t0, MSTATUS_MPRV
    csrs mstatus, t0
    RUN_IN MSTATUS_MPP_S, 1f, 2f
1:  ecall
2:  CHECK_TA TA_CAUSE, CAUSE_SUPERVISOR_ECALL
    CHECK_TA_MASK TA_MSTATUS, MSTATUS_MPRV, 0
    TEST_NUM(9)                          /* SRET from M to U clears MPRV */
    li t0, MSTATUS_MPRV | MSTATUS_SPP
    csrs mstatus, t0
    li t0, MSTATUS_SPP
    csrc mstatus, t0
    la t0, 3f
    csrw sepc, t0
    TRAP_ARM 4f
    sret
3:  ecall
4:  CHECK_TA TA_CAUSE, CAUSE_USER_ECALL
    CHECK_TA_MASK TA_MSTATUS, MSTATUS_MPRV, 0

    TEST_NUM(10)
    li t0, 0x80000001
    csrw mepc, t0
    CHECK_CSR mepc, 0x80000000
    TEST_NUM(11)
    li t0, -1
    csrw sepc, t0
    CHECK_CSR sepc, 0xfffffffffffffffe

    li a1, 0x7ff0000000000001            /* signaling NaN */
    fmv.d.x fa1, a1
    TEST_NUM(12)
    li t0, MSTATUS_FS
    csrc mstatus, t0
    li t0, MSTATUS_FS_CLEAN
    csrs mstatus, t0
    feq.d a0, fa1, fa1                   /* sets NV */
    CHECK_CSR_MASK mstatus, MSTATUS_FS | MSTATUS_SD, MSTATUS_FS_DIRTY | MSTATUS_SD
    TEST_NUM(13)
    li t0, MSTATUS_FS
    csrc mstatus, t0
    li t0, MSTATUS_FS_CLEAN
    csrs mstatus, t0
    fcvt.w.d a0, fa1, rtz                /* sets NV */
    CHECK_CSR_MASK mstatus, MSTATUS_FS | MSTATUS_SD, MSTATUS_FS_DIRTY | MSTATUS_SD

    /* all of MSI, MTI, SEI, SSI, STI pending and enabled; take them one by one */
    li t1, CLINT_MSIP
    li t0, 1
    sw t0, 0(t1)
    li t1, CLINT_MTIMECMP
    sd zero, 0(t1)
    li t0, MIP_SSIP | MIP_STIP | MIP_SEIP
    csrs mip, t0
    li t0, MIP_MSIP | MIP_MTIP | MIP_SSIP | MIP_STIP | MIP_SEIP
    csrw mie, t0
    TEST_NUM(14)
    TAKE_NOW CAUSE_INTERRUPT | IRQ_M_SOFT
    li t1, CLINT_MSIP
    sw zero, 0(t1)
    TEST_NUM(15)
    TAKE_NOW CAUSE_INTERRUPT | IRQ_M_TIMER
    li t0, -1
    li t1, CLINT_MTIMECMP
    sd t0, 0(t1)
    TEST_NUM(16)
    TAKE_NOW CAUSE_INTERRUPT | IRQ_S_EXT
    li t0, MIP_SEIP
    csrc mip, t0
    TEST_NUM(17)
    TAKE_NOW CAUSE_INTERRUPT | IRQ_S_SOFT
    csrci mip, MIP_SSIP
    TEST_NUM(18)
    TAKE_NOW CAUSE_INTERRUPT | IRQ_S_TIMER
    li t0, MIP_STIP
    csrc mip, t0
    csrw mie, zero

    TEST_NUM(19)                         /* entries 16-63: read-only zero */
    li t0, -1
    csrw pmpaddr16, t0
    csrw pmpaddr63, t0
    CHECK_CSR pmpaddr16, 0
    CHECK_CSR pmpaddr63, 0
    TEST_NUM(20)
    csrw pmpcfg4, t0
    csrw pmpcfg14, t0
    CHECK_CSR pmpcfg4, 0
    CHECK_CSR pmpcfg14, 0
TEST_END
