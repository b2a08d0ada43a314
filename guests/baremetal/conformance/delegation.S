/* Trap delegation to S-mode (privileged spec 3.1.8 medeleg/mideleg; 4.1.7 sepc,
 * 4.1.8 scause, 4.1.9 stval; 3.1.6.1 global interrupt enables; 3.1.9 mip/mie).
 *
 * - medeleg: the standard exceptions that can happen below M (causes 0-9, 12, 13, 15)
 *   are delegable; reserved causes read zero. mideleg: SSI, STI, SEI are delegable; the
 *   M-level interrupt bits read zero.
 * - A delegated exception from S or U goes to stvec (never to M-mode) with scause/
 *   sepc/stval written (stval: the instruction bits for illegal instruction as QEMU
 *   does, the address for access faults, 0 for ECALL/EBREAK) and sstatus.SPP/SPIE/SIE
 *   stacked.
 * - A delegated exception raised in M-mode is taken in M-mode; an exception that is not
 *   delegated goes from S or U to M-mode.
 * - A delegated interrupt (SSI) is taken in S-mode as soon as it is pending and enabled
 *   (right after the instruction that enables it): in S-mode only with sstatus.SIE = 1,
 *   in U-mode always, in M-mode never. Not delegated, it goes to M-mode, which is
 *   always enabled while running below M.
 */
#include "test_macros.h"

#define STD_DELEGABLE 0xb3ff             /* causes 0-9, 12, 13, 15 */
#define HOLE 0x40000000
#define SCAUSE_SSI (CAUSE_INTERRUPT | IRQ_S_SOFT)

/* Fail unless S trap number `i` (from 0) has scause `cause`, sepc at `epc` (a label)
 * and stval `tval`. */
.macro CHECK_SLOG i, cause, epc, tval
    la t4, s_log + 32 * \i
    ld t3, 0(t4)
    CHECK t3, \cause
    ld t3, 8(t4)
    CHECK_ADDR t3, \epc
    ld t3, 16(t4)
    CHECK t3, \tval
.endm

/* Fail unless S trap `i` found sstatus & (SPP|SPIE|SIE) == `bits`. */
.macro CHECK_SLOG_STATUS i, bits
    la t4, s_log + 32 * \i
    ld t3, 24(t4)
    andi t3, t3, MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE
    CHECK t3, \bits
.endm

/* Fail unless the S handler ran `n` times since s_log_reset. */
.macro CHECK_SLOG_COUNT n
    ld t3, s_log_count
    CHECK t3, \n
.endm

/* s4 = number of M-mode traps so far. */
.macro M_COUNT_SAVE
    la t3, trap_area
    ld s4, TA_COUNT(t3)
.endm

/* Fail unless exactly `n` M-mode traps happened since M_COUNT_SAVE. */
.macro CHECK_M_COUNT n
    la t3, trap_area
    ld t3, TA_COUNT(t3)
    sub t3, t3, s4
    CHECK t3, \n
.endm

TEST_BEGIN
    la t0, s_handler
    csrw stvec, t0

    /* ---- writable bits ---- */
    TEST_NUM(1)
    li a1, -1
    csrw medeleg, a1
    CHECK_CSR_MASK medeleg, STD_DELEGABLE, STD_DELEGABLE
    CHECK_CSR_MASK medeleg, 0xffffffffff0f4000, 0    /* 14, 16-19, 24-63 reserved */
    csrw medeleg, zero
    CHECK_CSR medeleg, 0
    TEST_NUM(2)
    csrw mideleg, a1
    CHECK_CSR_MASK mideleg, 0xaaa, MIP_SSIP | MIP_STIP | MIP_SEIP
    csrw mideleg, zero
    CHECK_CSR_MASK mideleg, 0xaaa, 0

    li a1, (1 << CAUSE_ILLEGAL_INSTRUCTION) | (1 << CAUSE_BREAKPOINT) | (1 << CAUSE_USER_ECALL) | (1 << CAUSE_LOAD_ACCESS) | (1 << CAUSE_STORE_ACCESS)
    csrw medeleg, a1

    /* ---- delegated exceptions from S-mode ---- */
    TEST_NUM(3)
    call s_log_reset
    M_COUNT_SAVE
    csrwi sstatus, MSTATUS_SIE
    RUN_IN MSTATUS_MPP_S, 1f, 3f
1:  .word 0xfe000033                     /* illegal -> S handler, back at 1b + 4 */
    li a1, HOLE
2:  lw a0, 4(a1)                         /* load access fault -> S handler */
    ecall                                /* ECALL from S is not delegated -> M */
3:  CHECK_TA TA_CAUSE, CAUSE_SUPERVISOR_ECALL
    CHECK_M_COUNT 1                      /* the delegated traps never reached M */
    CHECK_SLOG_COUNT 2
    TEST_NUM(4)
    CHECK_SLOG 0, CAUSE_ILLEGAL_INSTRUCTION, 1b, 0xfe000033
    CHECK_SLOG_STATUS 0, MSTATUS_SPP | MSTATUS_SPIE     /* from S, SIE was 1 */
    TEST_NUM(5)
    CHECK_SLOG 1, CAUSE_LOAD_ACCESS, 2b, HOLE + 4
    CHECK_SLOG_STATUS 1, MSTATUS_SPP | MSTATUS_SPIE     /* SRET restored SIE = 1 */

    /* ---- delegated exceptions from U-mode ---- */
    TEST_NUM(6)
    call s_log_reset
    M_COUNT_SAVE
    csrwi sstatus, 0
    RUN_IN 0, 4f, 9f
4:  ebreak
    li a1, HOLE
5:  sw a0, 8(a1)
6:  wfi                                  /* illegal in U-mode (QEMU traps it) */
7:  ecall
    li a1, HOLE
8:  jr a1                                /* fetch access fault: not delegated -> M */
9:  CHECK_TA TA_CAUSE, CAUSE_FETCH_ACCESS
    CHECK_TA TA_EPC, HOLE
    CHECK_TA_MASK TA_MSTATUS, MSTATUS_MPP, 0
    CHECK_M_COUNT 1
    CHECK_SLOG_COUNT 4
    TEST_NUM(7)
    CHECK_SLOG 0, CAUSE_BREAKPOINT, 4b, 0
    CHECK_SLOG_STATUS 0, 0                               /* from U, SIE was 0 */
    TEST_NUM(8)
    CHECK_SLOG 1, CAUSE_STORE_ACCESS, 5b, HOLE + 8
    TEST_NUM(9)
    CHECK_SLOG 2, CAUSE_ILLEGAL_INSTRUCTION, 6b, 0x10500073
    TEST_NUM(10)
    CHECK_SLOG 3, CAUSE_USER_ECALL, 7b, 0
    CHECK_SLOG_STATUS 3, 0

    /* ---- delegation does not apply to traps in M-mode ---- */
    call s_log_reset
    TEST_ILLEGAL(11, .word 0xfe000033)
    TEST_EXC(12, CAUSE_BREAKPOINT, 0, ebreak)
    li a1, HOLE
    TEST_EXC(13, CAUSE_LOAD_ACCESS, HOLE, ld a0, 0(a1))
    TEST_NUM(14)
    CHECK_SLOG_COUNT 0

    /* ---- an exception that is not delegated goes from S to M ---- */
    TEST_NUM(15)
    li a1, 1 << CAUSE_ILLEGAL_INSTRUCTION
    csrc medeleg, a1
    RUN_IN MSTATUS_MPP_S, 10f, 11f
10: .word 0xfe000033
    j fail
11: CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 10b
    CHECK_TA TA_TVAL, 0xfe000033
    CHECK_TA_MASK TA_MSTATUS, MSTATUS_MPP, MSTATUS_MPP_S
    CHECK_SLOG_COUNT 0
    csrw medeleg, zero

    /* ---- delegated supervisor software interrupt ---- */
    li a1, MIP_SSIP
    csrw mideleg, a1
    csrw mie, a1                         /* mie.SSIE (= sie.SSIE) */
    TEST_NUM(16)                         /* S-mode, SIE = 1: taken right after the csrs */
    call s_log_reset
    csrwi sstatus, MSTATUS_SIE
    RUN_IN MSTATUS_MPP_S, 12f, 14f
12: csrsi sip, MIP_SSIP
13: nop
    ecall
14: CHECK_TA TA_CAUSE, CAUSE_SUPERVISOR_ECALL
    CHECK_SLOG_COUNT 1
    CHECK_SLOG 0, SCAUSE_SSI, 13b, 0
    CHECK_SLOG_STATUS 0, MSTATUS_SPP | MSTATUS_SPIE
    CHECK_CSR_MASK mip, MIP_SSIP, 0      /* the handler cleared it */
    TEST_NUM(17)                         /* S-mode, SIE = 0: held until SIE is set */
    call s_log_reset
    csrwi sstatus, 0
    RUN_IN MSTATUS_MPP_S, 15f, 17f
15: csrsi sip, MIP_SSIP
    nop
    nop
    csrsi sstatus, MSTATUS_SIE
16: nop
    ecall
17: CHECK_SLOG_COUNT 1
    CHECK_SLOG 0, SCAUSE_SSI, 16b, 0
    TEST_NUM(18)                         /* U-mode: taken whatever SIE says */
    call s_log_reset
    csrwi sstatus, 0
    csrsi mip, MIP_SSIP                  /* pending before entering U-mode */
    RUN_IN 0, 18f, 19f
18: nop                                  /* the interrupt is taken before this runs */
    li a1, HOLE
    jr a1                                /* back to M by a fetch fault */
19: CHECK_TA TA_CAUSE, CAUSE_FETCH_ACCESS
    CHECK_SLOG_COUNT 1
    CHECK_SLOG 0, SCAUSE_SSI, 18b, 0
    CHECK_SLOG_STATUS 0, 0
    TEST_NUM(19)                         /* M-mode: a delegated interrupt is not taken */
    call s_log_reset
    M_COUNT_SAVE
    csrsi mip, MIP_SSIP
    csrsi mstatus, MSTATUS_MIE
    nop
    nop
    csrci mstatus, MSTATUS_MIE
    CHECK_M_COUNT 0
    CHECK_SLOG_COUNT 0
    CHECK_CSR_MASK mip, MIP_SSIP, MIP_SSIP

    /* ---- not delegated: goes to M even with MIE = 0 while in S-mode ---- */
    TEST_NUM(20)
    csrw mideleg, zero
    csrwi sstatus, 0
    RUN_IN MSTATUS_MPP_S, 20f, 21f       /* SSIP is still pending */
20: nop
    j fail
21: CHECK_TA TA_CAUSE, SCAUSE_SSI
    CHECK_TA_ADDR TA_EPC, 20b
    CHECK_TA_MASK TA_MSTATUS, MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE, MSTATUS_MPP_S
    CHECK_SLOG_COUNT 0
    csrci mip, MIP_SSIP
    csrw mie, zero

TEST_END

/* S-mode handler: logs scause, sepc, stval, sstatus (32 bytes per trap, up to 8) in
 * s_log and counts in s_log_count; returns past the 4-byte trapping instruction, or for
 * an interrupt clears sip.SSIP and returns to sepc. */
    .text
    .align 4
s_handler:
    csrw sscratch, t0
    la t0, s_save
    sd t1, 0(t0)
    sd t2, 8(t0)
    ld t1, s_log_count
    slli t2, t1, 5
    la t0, s_log
    add t2, t2, t0
    addi t1, t1, 1
    la t0, s_log_count
    sd t1, 0(t0)
    csrr t1, scause
    sd t1, 0(t2)
    csrr t1, sepc
    sd t1, 8(t2)
    csrr t1, stval
    sd t1, 16(t2)
    csrr t1, sstatus
    sd t1, 24(t2)
    csrr t1, scause
    bltz t1, 1f
    csrr t1, sepc
    addi t1, t1, 4
    csrw sepc, t1
    j 2f
1:  li t1, MIP_SSIP
    csrc sip, t1
2:  la t0, s_save
    ld t1, 0(t0)
    ld t2, 8(t0)
    csrr t0, sscratch
    sret

s_log_reset:
    la t0, s_log_count
    sd zero, 0(t0)
    ret

    .data
    .align 4
s_log:
    .zero 32 * 8
s_log_count:
    .dword 0
s_save:
    .zero 16
