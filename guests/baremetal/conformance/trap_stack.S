/* The interrupt-enable stack and the trap-return instructions (privileged spec
 * 3.1.6.1 mstatus MIE/MPIE/SIE/SPIE, 3.1.6.2 MPP/SPP, 3.1.6.3 MPRV, 3.3.2 MRET/SRET,
 * 3.1.14 mepc, 4.1.7 sepc).
 *
 * - A trap to M-mode: MPIE <- MIE, MIE <- 0, MPP <- the previous mode; S fields alone.
 * - MRET: MIE <- MPIE, MPIE <- 1, privilege <- MPP, MPP <- U (the least-privileged
 *   mode); MRET to M keeps MPRV. (MRET/SRET to a mode below M clear MPRV: QEMU 7.2
 *   does not, so qemu_deviations.S checks that.)
 * - A trap to S-mode: SPIE <- SIE, SIE <- 0, SPP <- the previous mode; M fields alone.
 * - SRET (allowed in M-mode too): SIE <- SPIE, SPIE <- 1, privilege <- SPP, SPP <- U.
 * (mepc/sepc bit 0 always reading zero is in qemu_deviations.S: QEMU 7.2 keeps it.)
 * The mode reached by MRET/SRET is checked by what it can do: U-mode ECALL reports
 * cause 8, S-mode cause 9, and M-mode can read mstatus.
 */
#include "test_macros.h"

#define MSTATUS_STACK (MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP)

/* Set the mstatus stack fields to exactly `bits`. */
.macro SET_STACK bits
    li t0, MSTATUS_STACK
    csrc mstatus, t0
    li t0, \bits
    csrs mstatus, t0
.endm

TEST_BEGIN
    la t0, s_handler
    csrw stvec, t0

    /* ---- trap from M-mode ---- */
    TEST_NUM(1)                          /* MIE = 1 -> MPIE = 1, MIE = 0, MPP = M */
    SET_STACK MSTATUS_MIE | MSTATUS_SIE | MSTATUS_SPP
    TRAP_ARM 1f
    ecall
1:  CHECK_TA_MASK TA_MSTATUS, MSTATUS_STACK, MSTATUS_MPIE | MSTATUS_MPP_M | MSTATUS_SIE | MSTATUS_SPP
    TEST_NUM(2)                          /* MIE = 0 -> MPIE = 0 */
    SET_STACK MSTATUS_MPIE | MSTATUS_SPIE
    TRAP_ARM 2f
    ecall
2:  CHECK_TA_MASK TA_MSTATUS, MSTATUS_STACK, MSTATUS_MPP_M | MSTATUS_SPIE

    /* ---- MRET staying in M-mode ---- */
    TEST_NUM(3)                          /* MIE <- MPIE (1), MPIE <- 1, MPP <- U */
    SET_STACK MSTATUS_MPIE | MSTATUS_MPP_M
    la t0, 3f
    csrw mepc, t0
    mret
    j fail
3:  CHECK_CSR_MASK mstatus, MSTATUS_STACK, MSTATUS_MIE | MSTATUS_MPIE
    csrci mstatus, MSTATUS_MIE
    TEST_NUM(4)                          /* MIE <- MPIE (0) */
    SET_STACK MSTATUS_MIE | MSTATUS_MPP_M | MSTATUS_SIE
    la t0, 4f
    csrw mepc, t0
    mret
    j fail
4:  CHECK_CSR_MASK mstatus, MSTATUS_STACK, MSTATUS_MPIE | MSTATUS_SIE
    TEST_NUM(5)                          /* MRET to M keeps MPRV */
    li t0, MSTATUS_MPRV
    csrs mstatus, t0
    SET_STACK MSTATUS_MPP_M
    la t0, 5f
    csrw mepc, t0
    mret
5:  CHECK_CSR_MASK mstatus, MSTATUS_MPRV, MSTATUS_MPRV
    li t0, MSTATUS_MPRV
    csrc mstatus, t0

    /* ---- MRET to S and U; traps from there ---- */
    TEST_NUM(6)                          /* MRET to S: MIE <- MPIE; ECALL sees MPP = S */
    SET_STACK MSTATUS_MPIE | MSTATUS_MPP_S
    la t0, 6f
    csrw mepc, t0
    TRAP_ARM 7f
    mret
6:  ecall
    j fail
7:  CHECK_TA TA_CAUSE, CAUSE_SUPERVISOR_ECALL
    /* at the ECALL: MIE was 1 (from MPIE) -> now MPIE = 1, MIE = 0, MPP = S */
    CHECK_TA_MASK TA_MSTATUS, MSTATUS_STACK, MSTATUS_MPIE | MSTATUS_MPP_S
    TEST_NUM(7)                          /* MRET to U with MPIE = 0 */
    SET_STACK MSTATUS_SPIE
    la t0, 8f
    csrw mepc, t0
    TRAP_ARM 9f
    mret
8:  ecall
    j fail
9:  CHECK_TA TA_CAUSE, CAUSE_USER_ECALL
    CHECK_TA_MASK TA_MSTATUS, MSTATUS_STACK, MSTATUS_SPIE

    /* ---- traps to S-mode (ECALL from U delegated) ---- */
    li t0, 1 << CAUSE_USER_ECALL
    csrw medeleg, t0
    TEST_NUM(8)                          /* from U with SIE = 1: SPIE = 1, SIE = 0, SPP = U */
    SET_STACK MSTATUS_SIE | MSTATUS_SPP | MSTATUS_MPIE
    RUN_IN 0, 10f, 11f
10: ecall                                /* -> S handler, which ECALLs to M */
    j fail
11: CHECK_TA TA_SCAUSE, CAUSE_USER_ECALL
    CHECK_TA_ADDR TA_SEPC, 10b
    CHECK_TA_MASK TA_SSTATUS, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP, MSTATUS_SPIE
    /* the S handler's ECALL came from S with MIE = 0 (MRET_TO entered U with MPIE = 0) */
    CHECK_TA TA_CAUSE, CAUSE_SUPERVISOR_ECALL
    CHECK_TA_MASK TA_MSTATUS, MSTATUS_MPP | MSTATUS_MPIE, MSTATUS_MPP_S
    csrw medeleg, zero

    /* ---- SRET ---- */
    TEST_NUM(9)                          /* SRET from M to U: SIE <- SPIE, SPIE <- 1, SPP <- U */
    SET_STACK MSTATUS_SPIE               /* SPP = U */
    la t0, 12f
    csrw sepc, t0
    TRAP_ARM 13f
    sret
12: ecall
    j fail
13: CHECK_TA TA_CAUSE, CAUSE_USER_ECALL
    CHECK_TA_MASK TA_MSTATUS, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP, MSTATUS_SIE | MSTATUS_SPIE
    TEST_NUM(10)                         /* SRET from M to S, SPIE = 0 */
    SET_STACK MSTATUS_SIE | MSTATUS_SPP
    la t0, 14f
    csrw sepc, t0
    TRAP_ARM 15f
    sret
14: ecall
    j fail
15: CHECK_TA TA_CAUSE, CAUSE_SUPERVISOR_ECALL
    CHECK_TA_MASK TA_MSTATUS, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP, MSTATUS_SPIE
    TEST_NUM(11)                         /* SRET from S to U */
    SET_STACK MSTATUS_SPIE               /* SPP = U, SIE = 0 */
    RUN_IN MSTATUS_MPP_S, 16f, 18f
16: la t0, 17f
    csrw sepc, t0
    sret
17: ecall
    j fail
18: CHECK_TA TA_CAUSE, CAUSE_USER_ECALL
    CHECK_TA_ADDR TA_EPC, 17b
    CHECK_TA_MASK TA_MSTATUS, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP, MSTATUS_SIE | MSTATUS_SPIE
TEST_END

/* S-mode handler used above: the generic one (records scause/sepc/stval/sstatus, then
 * ECALL to M). */
    .text
    .align 4
s_handler:
    j strap_entry
