/* Shared frame of tern's hart conformance tests (guests/baremetal/conformance/*.S).
 *
 * Every test is one assembly file that runs unchanged on
 *   tern run --machine spike --kernel T.elf
 *   qemu-system-riscv64 -machine spike -bios none -kernel T.elf -nographic -monitor none
 * and exits through HTIF with status 0 when every check passed (after printing
 * "conformance: all checks passed"), or with the number of the first check that failed,
 * after printing one line saying which check failed and why, so that a failure can be
 * diagnosed from the test log alone.
 *
 * Conventions
 * - TESTNUM (gp) holds the number of the check being made. Numbers run from 1 to 254
 *   within a file (the exit status is 8 bits); 255 means "failed before any check".
 * - t5 and t6 belong to the macros: tests must not keep values in them across a macro.
 * - The assembler runs with `.option norvc` (no automatic compression, so that the
 *   32-bit encodings are what gets tested and instruction lengths are known) and
 *   `.option norelax`. Tests of compressed instructions say `.option rvc` themselves.
 * - Comments use C syntax: the files go through the C preprocessor.
 *
 * Traps
 * The M-mode trap handler records mcause, mepc, mtval and mstatus in trap_area. When a resume
 * address is armed (TRAP_ARM), the trap is expected: the handler disarms it and
 * resumes at that address in M-mode with mstatus.MIE = 0 and mstatus.MPRV = 0 (by
 * MRET with MPP = M and MPIE = 0). A trap with nothing armed is a failure: the handler
 * prints mcause/mepc/mtval and exits with TESTNUM.
 * An S-mode handler (strap_entry, for tests that delegate) records scause/sepc/stval/
 * sstatus in trap_area and then executes ECALL, so that control comes back to M-mode through
 * the armed resume address.
 */
#ifndef TERN_CONFORMANCE_TEST_MACROS_H
#define TERN_CONFORMANCE_TEST_MACROS_H

#define TESTNUM gp

/* ---- CSR fields (privileged spec 1.12, chapter 3 and 4) ---- */
#define MSTATUS_SIE   (1 << 1)
#define MSTATUS_MIE   (1 << 3)
#define MSTATUS_SPIE  (1 << 5)
#define MSTATUS_UBE   (1 << 6)
#define MSTATUS_MPIE  (1 << 7)
#define MSTATUS_SPP   (1 << 8)
#define MSTATUS_VS    (3 << 9)
#define MSTATUS_MPP   (3 << 11)
#define MSTATUS_MPP_S (1 << 11)
#define MSTATUS_MPP_M (3 << 11)
#define MSTATUS_FS    (3 << 13)
#define MSTATUS_FS_INITIAL (1 << 13)
#define MSTATUS_FS_CLEAN   (2 << 13)
#define MSTATUS_FS_DIRTY   (3 << 13)
#define MSTATUS_XS    (3 << 15)
#define MSTATUS_MPRV  (1 << 17)
#define MSTATUS_SUM   (1 << 18)
#define MSTATUS_MXR   (1 << 19)
#define MSTATUS_TVM   (1 << 20)
#define MSTATUS_TW    (1 << 21)
#define MSTATUS_TSR   (1 << 22)
#define MSTATUS_SD    (1 << 63)

#define IRQ_S_SOFT   1
#define IRQ_M_SOFT   3
#define IRQ_S_TIMER  5
#define IRQ_M_TIMER  7
#define IRQ_S_EXT    9
#define IRQ_M_EXT    11
#define MIP_SSIP (1 << IRQ_S_SOFT)
#define MIP_MSIP (1 << IRQ_M_SOFT)
#define MIP_STIP (1 << IRQ_S_TIMER)
#define MIP_MTIP (1 << IRQ_M_TIMER)
#define MIP_SEIP (1 << IRQ_S_EXT)
#define MIP_MEIP (1 << IRQ_M_EXT)

#define CAUSE_MISALIGNED_FETCH    0
#define CAUSE_FETCH_ACCESS        1
#define CAUSE_ILLEGAL_INSTRUCTION 2
#define CAUSE_BREAKPOINT          3
#define CAUSE_MISALIGNED_LOAD     4
#define CAUSE_LOAD_ACCESS         5
#define CAUSE_MISALIGNED_STORE    6
#define CAUSE_STORE_ACCESS        7
#define CAUSE_USER_ECALL          8
#define CAUSE_SUPERVISOR_ECALL    9
#define CAUSE_MACHINE_ECALL       11
#define CAUSE_FETCH_PAGE_FAULT    12
#define CAUSE_LOAD_PAGE_FAULT     13
#define CAUSE_STORE_PAGE_FAULT    15
#define CAUSE_INTERRUPT           (1 << 63)

/* Page-table entry bits (4.3.1) and satp modes (4.1.11). */
#define PTE_V (1 << 0)
#define PTE_R (1 << 1)
#define PTE_W (1 << 2)
#define PTE_X (1 << 3)
#define PTE_U (1 << 4)
#define PTE_G (1 << 5)
#define PTE_A (1 << 6)
#define PTE_D (1 << 7)
#define SATP_MODE_SV39 (8 << 60)
#define SATP_MODE_SV48 (9 << 60)
#define SATP_MODE_SV57 (10 << 60)

/* PMP configuration bits (3.7.1). */
#define PMP_R     0x01
#define PMP_W     0x02
#define PMP_X     0x04
#define PMP_OFF   0x00
#define PMP_TOR   0x08
#define PMP_NA4   0x10
#define PMP_NAPOT 0x18
#define PMP_L     0x80

/* The spike board's CLINT (same addresses on tern and QEMU). */
#define CLINT_MSIP     0x02000000
#define CLINT_MTIMECMP 0x02004000
#define CLINT_MTIME    0x0200bff8

/* Offsets in trap_area. */
#define TA_RESUME  0
#define TA_CAUSE   8
#define TA_EPC     16
#define TA_TVAL    24
#define TA_COUNT   32
#define TA_SCAUSE  40
#define TA_SEPC    48
#define TA_STVAL   56
#define TA_SAVE0   64
#define TA_SAVE1   72
#define TA_MSTATUS 80      /* mstatus as the M-mode handler found it */
#define TA_SSTATUS 88      /* sstatus as the S-mode handler found it */
#define TA_SIZE    128

/* ---- checks ---------------------------------------------------------------- */

/* Fail the current check when `reg` differs from the constant `exp`. */
.macro CHECK reg, exp
    li t6, \exp
    beq \reg, t6, .Lcheck_ok\@
    mv t5, \reg
    j fail_value
.Lcheck_ok\@:
.endm

/* Fail the current check when `reg` differs from register `expreg`. */
.macro CHECK_REG reg, expreg
    beq \reg, \expreg, .Lcheckr_ok\@
    mv t5, \reg
    mv t6, \expreg
    j fail_value
.Lcheckr_ok\@:
.endm

/* Fail the current check when `reg` differs from the address of symbol `sym`. */
.macro CHECK_ADDR reg, sym
    la t6, \sym
    beq \reg, t6, .Lchecka_ok\@
    mv t5, \reg
    j fail_value
.Lchecka_ok\@:
.endm

/* Fail the current check when the 64-bit word at `sym` differs from `exp`. */
.macro CHECK_MEM sym, exp
    ld t5, \sym
    CHECK t5, \exp
.endm

/* Fail the current check when the 64-bit word at trap_area+`off` differs from `exp`. */
.macro CHECK_TA off, exp
    la t5, trap_area
    ld t5, \off(t5)
    CHECK t5, \exp
.endm

/* Fail the current check when (trap_area+`off` & mask) differs from `exp`. */
.macro CHECK_TA_MASK off, mask, exp
    la t5, trap_area
    ld t5, \off(t5)
    li t6, \mask
    and t5, t5, t6
    CHECK t5, \exp
.endm

/* Same, with the expected value the address of a symbol. */
.macro CHECK_TA_ADDR off, sym
    la t5, trap_area
    ld t5, \off(t5)
    CHECK_ADDR t5, \sym
.endm

/* Fail the current check when the recorded mtval differs from the 32-bit instruction
 * at the recorded mepc (illegal-instruction traps: QEMU writes the instruction bits). */
.macro CHECK_TVAL_INSN
    la t5, trap_area
    ld t6, TA_EPC(t5)
    lwu t6, 0(t6)
    ld t5, TA_TVAL(t5)
    beq t5, t6, .Lcheckti_ok\@
    j fail_value
.Lcheckti_ok\@:
.endm

/* Fail the current check when a CSR differs from `exp`. */
.macro CHECK_CSR csr, exp
    csrr t5, \csr
    CHECK t5, \exp
.endm

/* Fail the current check when (CSR & mask) differs from `exp`. */
.macro CHECK_CSR_MASK csr, mask, exp
    csrr t5, \csr
    li t6, \mask
    and t5, t5, t6
    CHECK t5, \exp
.endm

/* Start check number n. */
#define TEST_NUM(n) li TESTNUM, n

/* Check n: run `code...`, then `reg` must hold `exp`. */
#define TEST_CASE(n, reg, exp, code...) \
    TEST_NUM(n); code; CHECK reg, exp

/* Check n: a0 = inst(a1 = v1, a2 = v2) must be `exp` (register-register op). */
#define TEST_RR(n, inst, exp, v1, v2) \
    TEST_CASE(n, a0, exp, li a1, v1; li a2, v2; inst a0, a1, a2)

/* Check n: a0 = inst(a1 = v1, imm) must be `exp` (register-immediate op). */
#define TEST_RI(n, inst, exp, v1, imm) \
    TEST_CASE(n, a0, exp, li a1, v1; inst a0, a1, imm)

/* Check n: a0 = inst(a1 = v1) must be `exp` (one-source op). */
#define TEST_R(n, inst, exp, v1) \
    TEST_CASE(n, a0, exp, li a1, v1; inst a0, a1)

/* ---- floating point (unprivileged spec, chapters 11 "F" and 12 "D") ---------- */

#define FFLAGS_NX 0x01
#define FFLAGS_UF 0x02
#define FFLAGS_OF 0x04
#define FFLAGS_DZ 0x08
#define FFLAGS_NV 0x10
#define BOX_S(x) (0xffffffff00000000 | (x))

/* Load bit patterns into f registers: .S NaN-boxes 32 bits (FMV.W.X), .D moves 64. */
#define FLOAD_S(freg, bits) li t5, bits; fmv.w.x freg, t5
#define FLOAD_D(freg, bits) li t5, bits; fmv.d.x freg, t5
/* fflags must be `flags`. */
#define CHECK_FFLAGS(flags) frflags t5; CHECK t5, flags

/* Check n: fa0 = inst(fa1 = a, fa2 = b[, rm]) with precision P (S or D): the whole
 * register must be `res` (boxed for S) and fflags exactly `flags` (cleared before). */
#define TEST_FP2_RM(n, P, inst, rm, res, flags, a, b) \
    TEST_NUM(n); FLOAD_##P(fa1, a); FLOAD_##P(fa2, b); csrwi fflags, 0; \
    inst fa0, fa1, fa2, rm; fmv.x.d a0, fa0; CHECK a0, BOXED_##P(res); CHECK_FFLAGS(flags)
#define TEST_FP2(n, P, inst, res, flags, a, b) \
    TEST_NUM(n); FLOAD_##P(fa1, a); FLOAD_##P(fa2, b); csrwi fflags, 0; \
    inst fa0, fa1, fa2; fmv.x.d a0, fa0; CHECK a0, BOXED_##P(res); CHECK_FFLAGS(flags)
#define TEST_FP1_RM(n, P, inst, rm, res, flags, a) \
    TEST_NUM(n); FLOAD_##P(fa1, a); csrwi fflags, 0; \
    inst fa0, fa1, rm; fmv.x.d a0, fa0; CHECK a0, BOXED_##P(res); CHECK_FFLAGS(flags)
#define TEST_FP1(n, P, inst, res, flags, a) \
    TEST_NUM(n); FLOAD_##P(fa1, a); csrwi fflags, 0; \
    inst fa0, fa1; fmv.x.d a0, fa0; CHECK a0, BOXED_##P(res); CHECK_FFLAGS(flags)
/* Conversion between precisions: input bits of precision Pin, result of Pout. */
#define TEST_FCVT_RM(n, Pout, Pin, inst, rm, res, flags, a) \
    TEST_NUM(n); FLOAD_##Pin(fa1, a); csrwi fflags, 0; \
    inst fa0, fa1, rm; fmv.x.d a0, fa0; CHECK a0, BOXED_##Pout(res); CHECK_FFLAGS(flags)
#define TEST_FCVT(n, Pout, Pin, inst, res, flags, a) \
    TEST_NUM(n); FLOAD_##Pin(fa1, a); csrwi fflags, 0; \
    inst fa0, fa1; fmv.x.d a0, fa0; CHECK a0, BOXED_##Pout(res); CHECK_FFLAGS(flags)
#define TEST_FP3_RM(n, P, inst, rm, res, flags, a, b, c) \
    TEST_NUM(n); FLOAD_##P(fa1, a); FLOAD_##P(fa2, b); FLOAD_##P(fa3, c); csrwi fflags, 0; \
    inst fa0, fa1, fa2, fa3, rm; fmv.x.d a0, fa0; CHECK a0, BOXED_##P(res); CHECK_FFLAGS(flags)
/* Comparisons: integer result in a0. */
#define TEST_FCMP(n, P, inst, res, flags, a, b) \
    TEST_NUM(n); FLOAD_##P(fa1, a); FLOAD_##P(fa2, b); csrwi fflags, 0; \
    inst a0, fa1, fa2; CHECK a0, res; CHECK_FFLAGS(flags)
/* Float to integer: a0 = inst(fa1 = a, rm). */
#define TEST_F2I(n, P, inst, rm, res, flags, a) \
    TEST_NUM(n); FLOAD_##P(fa1, a); csrwi fflags, 0; \
    inst a0, fa1, rm; CHECK a0, res; CHECK_FFLAGS(flags)
/* Integer to float: fa0 = inst(a1 = ival, rm), result precision P. (Macro parameters
 * must not be named like the letters of mnemonics: x, w, s, d.) */
#define TEST_I2F(n, P, inst, rm, res, flags, ival) \
    TEST_NUM(n); li a1, ival; csrwi fflags, 0; \
    inst fa0, a1, rm; fmv.x.d a0, fa0; CHECK a0, BOXED_##P(res); CHECK_FFLAGS(flags)
/* Same for the exact conversions, which the assembler takes without rm. */
#define TEST_I2F_EXACT(n, P, inst, res, ival) \
    TEST_NUM(n); li a1, ival; csrwi fflags, 0; \
    inst fa0, a1; fmv.x.d a0, fa0; CHECK a0, BOXED_##P(res); CHECK_FFLAGS(0)
/* FCLASS: a0 = fclass(fa1 = a). */
#define TEST_FCLASS(n, P, inst, res, a) \
    TEST_NUM(n); FLOAD_##P(fa1, a); inst a0, fa1; CHECK a0, res
#define BOXED_S(x) BOX_S(x)
#define BOXED_D(x) (x)

/* ---- traps ------------------------------------------------------------------- */

/* Expect a trap: the M-mode handler resumes at `label` (once). */
.macro TRAP_ARM label
    la t6, \label
    la t5, trap_area
    sd t6, TA_RESUME(t5)
.endm

/* Forget an armed resume address (for code that did not trap as expected). */
.macro TRAP_DISARM
    la t5, trap_area
    sd zero, TA_RESUME(t5)
.endm

/* Check n: `code...` (executed in M-mode) must trap with `cause`; mepc must point at
 * the first instruction of `code` and mtval must be `tval`. */
#define TEST_EXC(n, cause, tval, code...) \
    TEST_NUM(n); TRAP_ARM 7771f; 7770: code; j fail_no_trap; \
    7771: CHECK_TA TA_CAUSE, cause; CHECK_TA_ADDR TA_EPC, 7770b; CHECK_TA TA_TVAL, tval

/* Check n: the 32-bit instruction `code` (in M-mode) is an illegal instruction;
 * mtval holds its bits. */
#define TEST_ILLEGAL(n, code...) \
    TEST_EXC_NOTVAL(n, CAUSE_ILLEGAL_INSTRUCTION, code); CHECK_TVAL_INSN

/* Same without a check of mtval. */
#define TEST_EXC_NOTVAL(n, cause, code...) \
    TEST_NUM(n); TRAP_ARM 7771f; 7770: code; j fail_no_trap; \
    7771: CHECK_TA TA_CAUSE, cause; CHECK_TA_ADDR TA_EPC, 7770b


/* Leave M-mode for privilege `mpp` (MSTATUS_MPP_S, 0 for U, MSTATUS_MPP_M) at `label`,
 * by MRET with MPIE = 0 (so interrupts stay off unless the code enables them). */
.macro MRET_TO mpp, label
    li t6, MSTATUS_MPP | MSTATUS_MPIE
    csrc mstatus, t6
    li t6, \mpp
    csrs mstatus, t6
    la t6, \label
    csrw mepc, t6
    mret
.endm

/* Run the code between here and `label`'s end in privilege `mpp`; that code ends with
 * ECALL (or any trap), and execution continues in M-mode at `resume`. */
.macro RUN_IN mpp, entry, resume
    TRAP_ARM \resume
    MRET_TO \mpp, \entry
.endm

/* ---- program frame --------------------------------------------------------- */

/* Start of every test: entry point, trap vector, stack, FPU on (FS = Initial), and
 * one PMP entry that gives S- and U-mode access to everything (what firmware does:
 * with PMP implemented, S/U accesses that match no entry fail; 3.7.1). */
#define TEST_BEGIN                          \
    .option norvc;                          \
    .option norelax;                        \
    .section .text.init, "ax", @progbits;   \
    .globl _start;                          \
_start:                                     \
    la t0, mtrap_entry;                     \
    csrw mtvec, t0;                         \
    la sp, __stack_top;                     \
    li t0, -1;                              \
    csrw pmpaddr0, t0;                      \
    li t0, PMP_NAPOT | PMP_R | PMP_W | PMP_X; \
    csrw pmpcfg0, t0;                       \
    li t0, MSTATUS_FS_INITIAL;              \
    csrs mstatus, t0;                       \
    csrwi fcsr, 0;                          \
    li t0, 0;                               \
    li TESTNUM, 255;                        \
    j test_main;                            \
    TEST_RUNTIME;                           \
    .text;                                  \
test_main:

/* End of every test: all checks passed. */
#define TEST_END \
    j pass

/* ---- runtime: pass/fail, trap handlers, console ------------------------------- */
#define TEST_RUNTIME                        \
pass:                                       \
    TRAP_DISARM;                            \
    csrwi mstatus, 0;                       \
    la a0, msg_passed;                      \
    call print_str;                         \
    li a0, 1;                               \
    j htif_exit_raw;                        \
fail_no_trap:                               \
    TRAP_DISARM;                            \
    la a0, msg_no_trap;                     \
    j fail_msg;                             \
fail:                                       \
    TRAP_DISARM;                            \
    la a0, msg_failed;                      \
fail_msg:                                   \
    csrwi mstatus, 0;                       \
    call print_fail_head;                   \
    j fail_exit;                            \
fail_value:                                 \
    mv s0, t5;                              \
    mv s1, t6;                              \
    TRAP_DISARM;                            \
    csrwi mstatus, 0;                       \
    la a0, msg_got;                         \
    call print_fail_head;                   \
    mv a0, s0;                              \
    call print_hex;                         \
    la a0, msg_expected;                    \
    call print_str;                         \
    mv a0, s1;                              \
    call print_hex;                         \
    la a0, msg_nl;                          \
    call print_str;                         \
fail_exit:                                  \
    andi a0, TESTNUM, 0xff;                 \
    bnez a0, .Lrt_code_ok;                  \
    li a0, 255;                             \
.Lrt_code_ok:                               \
    slli a0, a0, 1;                         \
    ori a0, a0, 1;                          \
htif_exit_raw:                              \
    la t0, tohost;                          \
.Lrt_exit_loop:                             \
    sd a0, 0(t0);                           \
    j .Lrt_exit_loop;                       \
                                            \
/* Print "conformance: check N" and then the string at a0. */ \
print_fail_head:                            \
    mv s2, ra;                              \
    mv s3, a0;                              \
    la a0, msg_check;                       \
    call print_str;                         \
    mv a0, TESTNUM;                         \
    call print_dec;                         \
    mv a0, s3;                              \
    mv ra, s2;                              \
    j print_str;                            \
                                            \
    .align 6;                               \
mtrap_entry:                                \
    csrw mscratch, t0;                      \
    la t0, trap_area;                       \
    sd t1, TA_SAVE0(t0);                    \
    csrr t1, mcause;                        \
    sd t1, TA_CAUSE(t0);                    \
    csrr t1, mepc;                          \
    sd t1, TA_EPC(t0);                      \
    csrr t1, mtval;                         \
    sd t1, TA_TVAL(t0);                     \
    csrr t1, mstatus;                       \
    sd t1, TA_MSTATUS(t0);                  \
    ld t1, TA_COUNT(t0);                    \
    addi t1, t1, 1;                         \
    sd t1, TA_COUNT(t0);                    \
    ld t1, TA_RESUME(t0);                   \
    beqz t1, mtrap_unexpected;              \
    sd zero, TA_RESUME(t0);                 \
    csrw mepc, t1;                          \
    li t1, MSTATUS_MPP;                     \
    csrs mstatus, t1;                       \
    li t1, MSTATUS_MPIE | MSTATUS_MPRV;     \
    csrc mstatus, t1;                       \
    ld t1, TA_SAVE0(t0);                    \
    csrr t0, mscratch;                      \
    mret;                                   \
mtrap_unexpected:                           \
    csrwi mstatus, 0;                       \
    la a0, msg_unexpected;                  \
    call print_fail_head;                   \
    csrr a0, mcause;                        \
    call print_hex;                         \
    la a0, msg_mepc;                        \
    call print_str;                         \
    csrr a0, mepc;                          \
    call print_hex;                         \
    la a0, msg_mtval;                       \
    call print_str;                         \
    csrr a0, mtval;                         \
    call print_hex;                         \
    la a0, msg_nl;                          \
    call print_str;                         \
    j fail_exit;                            \
                                            \
    .align 6;                               \
strap_entry:                                \
    csrw sscratch, t0;                      \
    la t0, trap_area;                       \
    sd t1, TA_SAVE1(t0);                    \
    csrr t1, scause;                        \
    sd t1, TA_SCAUSE(t0);                   \
    csrr t1, sepc;                          \
    sd t1, TA_SEPC(t0);                     \
    csrr t1, stval;                         \
    sd t1, TA_STVAL(t0);                    \
    csrr t1, sstatus;                       \
    sd t1, TA_SSTATUS(t0);                  \
    ld t1, TA_SAVE1(t0);                    \
    csrr t0, sscratch;                      \
    ecall;                                  \
                                            \
/* Console output through HTIF (device 1, command 1); M-mode only. */ \
print_str:                                  \
    mv t1, ra;                              \
    mv t2, a0;                              \
.Lrt_str_loop:                              \
    lbu a0, 0(t2);                          \
    beqz a0, .Lrt_str_done;                 \
    call putc;                              \
    addi t2, t2, 1;                         \
    j .Lrt_str_loop;                        \
.Lrt_str_done:                              \
    mv ra, t1;                              \
    ret;                                    \
                                            \
print_hex:                                  \
    mv t1, ra;                              \
    mv t2, a0;                              \
    li t3, 60;                              \
.Lrt_hex_loop:                              \
    srl a0, t2, t3;                         \
    andi a0, a0, 15;                        \
    la t4, hex_digits;                      \
    add a0, a0, t4;                         \
    lbu a0, 0(a0);                          \
    call putc;                              \
    addi t3, t3, -4;                        \
    bgez t3, .Lrt_hex_loop;                 \
    mv ra, t1;                              \
    ret;                                    \
                                            \
print_dec:                                  \
    mv t1, ra;                              \
    li t3, 10;                              \
    li t4, 0;                               \
.Lrt_dec_push:                              \
    remu t2, a0, t3;                        \
    addi t2, t2, '0';                       \
    addi sp, sp, -8;                        \
    sd t2, 0(sp);                           \
    addi t4, t4, 1;                         \
    divu a0, a0, t3;                        \
    bnez a0, .Lrt_dec_push;                 \
.Lrt_dec_pop:                               \
    ld a0, 0(sp);                           \
    addi sp, sp, 8;                         \
    call putc;                              \
    addi t4, t4, -1;                        \
    bnez t4, .Lrt_dec_pop;                  \
    mv ra, t1;                              \
    ret;                                    \
                                            \
putc:                                       \
    la t0, tohost;                          \
.Lrt_putc_wait1:                            \
    ld t5, 0(t0);                           \
    bnez t5, .Lrt_putc_wait1;               \
    li t5, 0x0101000000000000;              \
    or t5, t5, a0;                          \
    sd t5, 0(t0);                           \
.Lrt_putc_wait2:                            \
    ld t5, 0(t0);                           \
    bnez t5, .Lrt_putc_wait2;               \
    la t5, fromhost;                        \
    sd zero, 0(t5);                         \
    ret;                                    \
                                            \
    .data;                                  \
    .align 6;                               \
    .globl trap_area;                       \
trap_area: .zero TA_SIZE;                   \
hex_digits: .string "0123456789abcdef";     \
msg_check: .string "conformance: check ";   \
msg_failed: .string " failed\n";            \
msg_passed: .string "conformance: all checks passed\n"; \
msg_no_trap: .string " failed: expected a trap, none taken\n"; \
msg_got: .string " failed: got ";           \
msg_expected: .string " expected ";         \
msg_nl: .string "\n";                       \
msg_unexpected: .string " failed: unexpected trap mcause="; \
msg_mepc: .string " mepc=";                 \
msg_mtval: .string " mtval=";               \
    .align 3

#endif
