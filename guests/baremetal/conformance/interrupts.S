/* Interrupts (privileged spec 3.1.9 mip/mie, 3.2.1 mtime/mtimecmp, 3.3.3 WFI,
 * 4.1.3 sip/sie; the CLINT of the spike board: msip, mtimecmp, mtime).
 *
 * - mie: MSIE/MTIE/MEIE/SSIE/STIE/SEIE writable. mip: SSIP, STIP (Sstc off) and SEIP
 *   writable from M-mode; MSIP (CLINT msip), MTIP (mtime >= mtimecmp) and MEIP
 *   read-only.
 * - sip/sie show only the delegated interrupts (mideleg); sip.SSIP writable from S,
 *   sip.STIP/SEIP read-only there.
 * - Machine timer: MTIP follows mtime >= mtimecmp; taken with mcause 0x8..07 when
 *   MTIE and MIE are set; mtime counts up; mtimecmp and mtime also take naturally
 *   aligned 32-bit accesses (as QEMU's and SiFive's CLINT do).
 * - Machine software: msip = 1 raises MSIP (only bit 0 of msip is kept), taken with
 *   mcause 0x8..03; SSIP written by M-mode is taken with mcause 0x8..01.
 * - Priority (3.1.9): MEI > MSI > MTI > SEI > SSI > STI, checked by making several
 *   pending at once and taking them one by one: here MSI > MTI > SEI and SSI > STI; the
 *   whole order in qemu_deviations.S, as QEMU 7.2 simply takes the lowest cause first.
 * - WFI: with an interrupt pending and enabled in mie it returns even when MIE = 0
 *   (no trap); with nothing pending it waits until the timer fires (QEMU waits; the
 *   spec also allows a WFI that returns at once), then the interrupt is taken as soon
 *   as MIE is set, with mepc at the next instruction; with MIE = 1 during WFI the
 *   interrupt is taken when the timer fires.
 */
#include "test_macros.h"

#define M_IRQS (MIP_MSIP | MIP_MTIP | MIP_MEIP)
#define S_IRQS (MIP_SSIP | MIP_STIP | MIP_SEIP)
#define IRQ_CAUSE(n) (CAUSE_INTERRUPT | (n))

/* mtimecmp = `reg` */
.macro SET_MTIMECMP reg
    li t1, CLINT_MTIMECMP
    sd \reg, 0(t1)
.endm

/* msip = `val` */
.macro SET_MSIP val
    li t1, CLINT_MSIP
    li t0, \val
    sw t0, 0(t1)
.endm

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
    li t0, -1
    SET_MTIMECMP t0
    SET_MSIP 0
    csrw mie, zero
    csrw mip, zero
    csrw mideleg, zero

    /* ---- writable bits ---- */
    TEST_NUM(1)
    li t0, -1
    csrw mie, t0
    CHECK_CSR_MASK mie, M_IRQS | S_IRQS, M_IRQS | S_IRQS
    csrw mie, zero
    CHECK_CSR_MASK mie, M_IRQS | S_IRQS, 0
    TEST_NUM(2)
    li t0, -1
    csrs mip, t0
    CHECK_CSR_MASK mip, M_IRQS | S_IRQS, S_IRQS
    csrc mip, t0
    CHECK_CSR_MASK mip, M_IRQS | S_IRQS, 0

    /* ---- machine timer (CLINT mtimecmp / mtime) ---- */
    TEST_NUM(3)                          /* mtime counts */
    li t1, CLINT_MTIME
    ld a0, 0(t1)
    li t2, 100000
1:  addi t2, t2, -1
    bnez t2, 1b
    ld a1, 0(t1)
    bleu a1, a0, fail
    TEST_NUM(4)                          /* MTIP follows mtime >= mtimecmp */
    SET_MTIMECMP zero
    CHECK_CSR_MASK mip, MIP_MTIP, MIP_MTIP
    li t0, MIP_MTIP                      /* read-only in mip */
    csrc mip, t0
    CHECK_CSR_MASK mip, MIP_MTIP, MIP_MTIP
    li t1, CLINT_MTIME
    ld a0, 0(t1)
    li t0, 100000000                     /* 10 s ahead */
    add a0, a0, t0
    SET_MTIMECMP a0
    CHECK_CSR_MASK mip, MIP_MTIP, 0
    TEST_NUM(5)                          /* taken when it fires */
    li t1, CLINT_MTIME
    ld a0, 0(t1)
    addi a0, a0, 1000                    /* 100 us at 10 MHz */
    SET_MTIMECMP a0
    li t0, MIP_MTIP
    csrw mie, t0
    TRAP_ARM 3f
    csrsi mstatus, MSTATUS_MIE
    li t2, 100000000
2:  addi t2, t2, -1
    bnez t2, 2b
    j fail_no_trap
3:  CHECK_TA TA_CAUSE, IRQ_CAUSE(IRQ_M_TIMER)
    li t1, CLINT_MTIME                   /* it fired at or after mtimecmp */
    ld a1, 0(t1)
    bltu a1, a0, fail
    li t0, -1
    SET_MTIMECMP t0
    CHECK_CSR_MASK mip, MIP_MTIP, 0
    csrw mie, zero

    TEST_NUM(21)                         /* mtimecmp and mtime in 32-bit halves */
    li t1, CLINT_MTIMECMP
    li t0, 0x89abcdef
    sw t0, 0(t1)
    li t0, 0x01234567
    sw t0, 4(t1)
    ld a0, 0(t1)
    CHECK a0, 0x0123456789abcdef
    lwu a0, 4(t1)
    CHECK a0, 0x01234567
    lwu a0, 0(t1)
    CHECK a0, 0x89abcdef
    li t1, CLINT_MTIME
    lwu a0, 4(t1)                        /* high half of mtime: small since reset */
    ld a1, 0(t1)
    srli a1, a1, 32
    bltu a1, a0, fail
    li t0, -1
    SET_MTIMECMP t0

    /* ---- machine software interrupt (CLINT msip) ---- */
    TEST_NUM(6)
    SET_MSIP 0xffffffff
    li t1, CLINT_MSIP
    lw a0, 0(t1)
    CHECK a0, 1                          /* only bit 0 exists */
    CHECK_CSR_MASK mip, MIP_MSIP, MIP_MSIP
    li t0, MIP_MSIP                      /* read-only in mip */
    csrc mip, t0
    CHECK_CSR_MASK mip, MIP_MSIP, MIP_MSIP
    TEST_NUM(7)
    li t0, MIP_MSIP
    csrw mie, t0
    TAKE_NOW IRQ_CAUSE(IRQ_M_SOFT)
    SET_MSIP 0
    CHECK_CSR_MASK mip, MIP_MSIP, 0
    csrw mie, zero

    /* ---- supervisor software interrupt raised by M-mode, not delegated ---- */
    TEST_NUM(8)
    csrsi mip, MIP_SSIP
    li t0, MIP_SSIP
    csrw mie, t0
    TAKE_NOW IRQ_CAUSE(IRQ_S_SOFT)
    csrci mip, MIP_SSIP
    csrw mie, zero

    /* ---- sip/sie are the delegated part of mip/mie ---- */
    TEST_NUM(9)
    li t0, S_IRQS
    csrw mie, t0
    csrs mip, t0
    CHECK_CSR_MASK sie, M_IRQS | S_IRQS, 0     /* nothing delegated */
    CHECK_CSR_MASK sip, M_IRQS | S_IRQS, 0
    li t0, MIP_SSIP | MIP_STIP
    csrw mideleg, t0
    CHECK_CSR_MASK sie, M_IRQS | S_IRQS, MIP_SSIP | MIP_STIP
    CHECK_CSR_MASK sip, M_IRQS | S_IRQS, MIP_SSIP | MIP_STIP
    TEST_NUM(10)                         /* sie writes reach only delegated bits */
    csrw mie, zero
    li t0, -1
    csrw sie, t0
    CHECK_CSR_MASK mie, M_IRQS | S_IRQS, MIP_SSIP | MIP_STIP
    csrw mie, zero
    TEST_NUM(11)                         /* from S: SSIP writable, STIP not */
    li t0, S_IRQS
    csrc mip, t0
    RUN_IN MSTATUS_MPP_S, 4f, 5f
4:  li t0, MIP_SSIP | MIP_STIP
    csrs sip, t0
    ecall
5:  CHECK_CSR_MASK mip, S_IRQS, MIP_SSIP
    li t0, MIP_STIP
    csrs mip, t0
    RUN_IN MSTATUS_MPP_S, 6f, 7f
6:  li t0, MIP_SSIP | MIP_STIP
    csrc sip, t0
    ecall
7:  CHECK_CSR_MASK mip, S_IRQS, MIP_STIP
    li t0, S_IRQS
    csrc mip, t0
    csrw mideleg, zero

    /* ---- priority (3.1.9), for the pairs where QEMU 7.2 follows it (it takes the
     * lowest-numbered pending interrupt first; the full order is checked in
     * qemu_deviations.S) ---- */
    TEST_NUM(12)                         /* MSI, MTI, SEI pending: MSI > MTI > SEI */
    SET_MSIP 1
    SET_MTIMECMP zero
    li t0, MIP_SEIP
    csrs mip, t0
    li t0, MIP_MSIP | MIP_MTIP | MIP_SEIP
    csrw mie, t0
    TAKE_NOW IRQ_CAUSE(IRQ_M_SOFT)
    SET_MSIP 0
    TEST_NUM(13)
    TAKE_NOW IRQ_CAUSE(IRQ_M_TIMER)
    li t0, -1
    SET_MTIMECMP t0
    TEST_NUM(14)
    TAKE_NOW IRQ_CAUSE(IRQ_S_EXT)
    li t0, MIP_SEIP
    csrc mip, t0
    TEST_NUM(15)                         /* SSI, STI pending: SSI > STI */
    li t0, MIP_SSIP | MIP_STIP
    csrs mip, t0
    csrw mie, t0
    TAKE_NOW IRQ_CAUSE(IRQ_S_SOFT)
    csrci mip, MIP_SSIP
    TEST_NUM(16)
    TAKE_NOW IRQ_CAUSE(IRQ_S_TIMER)
    li t0, MIP_STIP
    csrc mip, t0
    csrw mie, zero

    /* ---- WFI ---- */
    TEST_NUM(17)                         /* pending + enabled in mie, MIE = 0: returns */
    csrsi mip, MIP_SSIP
    li t0, MIP_SSIP
    csrw mie, t0
    la t5, trap_area
    ld s4, TA_COUNT(t5)
    wfi
    ld a0, TA_COUNT(t5)
    CHECK_REG a0, s4                     /* no trap */
    csrci mip, MIP_SSIP
    csrw mie, zero
    TEST_NUM(18)                         /* MIE = 0: WFI waits for the timer to fire */
    li t1, CLINT_MTIME
    ld a0, 0(t1)
    li t0, 20000                         /* 2 ms */
    add a0, a0, t0
    SET_MTIMECMP a0
    li t0, MIP_MTIP
    csrw mie, t0
    la t5, trap_area
    ld s4, TA_COUNT(t5)
    wfi
    li t1, CLINT_MTIME
    ld a1, 0(t1)
    bltu a1, a0, fail                    /* returned only once mtime >= mtimecmp */
    CHECK_CSR_MASK mip, MIP_MTIP, MIP_MTIP
    la t5, trap_area
    ld a2, TA_COUNT(t5)
    CHECK_REG a2, s4                     /* and without a trap */
    TEST_NUM(19)                         /* MIE = 1 now: taken at once, after the csrs */
    TRAP_ARM 9f
    csrsi mstatus, MSTATUS_MIE
8:  nop
    j fail_no_trap
9:  CHECK_TA TA_CAUSE, IRQ_CAUSE(IRQ_M_TIMER)
    CHECK_TA_ADDR TA_EPC, 8b
    TEST_NUM(20)                         /* MIE = 1 during WFI: the interrupt is taken */
    li t1, CLINT_MTIME
    ld a0, 0(t1)
    li t0, 20000
    add a0, a0, t0
    SET_MTIMECMP a0
    TRAP_ARM 11f
    csrsi mstatus, MSTATUS_MIE
10: wfi
    j fail_no_trap
11: CHECK_TA TA_CAUSE, IRQ_CAUSE(IRQ_M_TIMER)
    li t1, CLINT_MTIME
    ld a1, 0(t1)
    bltu a1, a0, fail                    /* not before mtimecmp */
    li t0, -1
    SET_MTIMECMP t0
    csrw mie, zero

TEST_END
