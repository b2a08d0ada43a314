/* Physical memory protection (privileged spec 3.7).
 *
 * - 16 entries: pmpaddr0-15 and pmpcfg0/pmpcfg2 are read-write; the odd pmpcfg
 *   registers do not exist on RV64 (illegal instruction).
 * - Address matching: TOR (entry i covers [pmpaddr(i-1), pmpaddr(i)) << 2), NA4 (4
 *   bytes), NAPOT (naturally aligned power of two, here 4 KiB).
 * - S- and U-mode accesses get the R/W/X permissions of the lowest-numbered entry that
 *   matches any byte of the access; an access only partly inside that entry fails;
 *   with at least one entry set, an access that matches no entry fails. Failures are
 *   load (5), store (7) and instruction (1) access faults with mtval = the address.
 * - M-mode ignores unlocked entries; a locked entry (L) applies to M-mode too, and its
 *   pmpcfg byte and pmpaddr (and, for TOR, the pmpaddr below it) ignore writes.
 * SFENCE.VMA x0, x0 follows every PMP change (3.7.2).
 */
#include "test_macros.h"

#define A_OFF 0x0000                     /* region A: TOR, read-only */
#define B_OFF 0x1000                     /* region B: one NA4 word without permissions */
#define C_OFF 0x2000                     /* region C: NAPOT, execute-only */
#define D_OFF 0x3000                     /* region D: matched only by the catch-all */
#define E_OFF 0x4000                     /* region E: locked NAPOT, read-only */
#define F_OFF 0x5000                     /* region F: locked TOR, RWX */

/* Region bases: s0 = pmp_area (A), s1 = B, s2 = C, s3 = D, s5 = E, s6 = F. */

/* Run `code` in mode `mpp` expecting a trap `cause` with mtval = `base` + `off`. */
#define EXPECT_FAULT(n, mpp, cause, base, off, code...) \
    TEST_NUM(n); RUN_IN mpp, 7791f, 7792f; 7791: code; j fail; \
    7792: CHECK_TA TA_CAUSE, cause; addi t2, base, off; \
    la t3, trap_area; ld t3, TA_TVAL(t3); CHECK_REG t3, t2

/* Run `code` in mode `mpp` expecting no trap: it returns by ECALL (cause `ecause`). */
#define EXPECT_OK(n, mpp, ecause, code...) \
    TEST_NUM(n); RUN_IN mpp, 7793f, 7794f; 7793: code; ecall; \
    7794: CHECK_TA TA_CAUSE, ecause

/* pmpaddr = (s0 + off) >> 2 | low */
.macro PMPADDR n, off, low
    li t0, \off
    add t0, t0, s0
    srli t0, t0, 2
    ori t0, t0, \low
    csrw pmpaddr\n, t0
.endm

TEST_BEGIN
    la s0, pmp_area
    li t0, B_OFF
    add s1, s0, t0
    li t0, C_OFF
    add s2, s0, t0
    li t0, D_OFF
    add s3, s0, t0
    li t0, E_OFF
    add s5, s0, t0
    li t0, F_OFF
    add s6, s0, t0

    /* ---- the registers ---- */
    TEST_NUM(1)                          /* pmpaddr0-15 hold what is written */
    csrw pmpcfg0, zero
    csrw pmpcfg2, zero
    .irp i, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    li t0, 0x12345000 + \i
    csrw pmpaddr\i, t0
    .endr
    .irp i, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    CHECK_CSR pmpaddr\i, 0x12345000 + \i
    .endr
    TEST_NUM(2)                          /* pmpcfg0/2 hold 8 entries each */
    li t0, 0x1b1c191f0f0d0b09           /* no reserved R=0/W=1 combination */
    csrw pmpcfg0, t0
    CHECK_CSR pmpcfg0, 0x1b1c191f0f0d0b09
    li t0, 0x1d191c180f0d0c09
    csrw pmpcfg2, t0
    CHECK_CSR pmpcfg2, 0x1d191c180f0d0c09
    csrw pmpcfg0, zero
    csrw pmpcfg2, zero
    TEST_ILLEGAL(3, csrr a0, pmpcfg1)
    TEST_ILLEGAL(4, csrw pmpcfg3, zero)

    /* ---- phase 1: A TOR R, B+8 NA4 none, C NAPOT X, A NAPOT RW (loses to entry 1),
     * entry 15 NAPOT over everything RWX ---- */
    PMPADDR 0, A_OFF, 0
    PMPADDR 1, A_OFF + 0x1000, 0
    PMPADDR 2, B_OFF + 8, 0
    PMPADDR 3, C_OFF, 0x1ff
    PMPADDR 4, A_OFF, 0x1ff
    li t0, -1
    csrw pmpaddr15, t0
    li t0, ((PMP_NAPOT | PMP_R | PMP_W) << 32) | ((PMP_NAPOT | PMP_X) << 24) | (PMP_NA4 << 16) | ((PMP_TOR | PMP_R) << 8)
    csrw pmpcfg0, t0
    li t0, (PMP_NAPOT | PMP_R | PMP_W | PMP_X) << 56
    csrw pmpcfg2, t0
    sfence.vma
    /* code for region C: li a0, 42; ret */
    li t0, 0x02a00513
    sw t0, 0(s2)
    li t0, 0x00008067
    sw t0, 4(s2)
    fence.i

    EXPECT_OK(5, MSTATUS_MPP_S, CAUSE_SUPERVISOR_ECALL, ld a0, 16(s0))
    EXPECT_FAULT(6, MSTATUS_MPP_S, CAUSE_STORE_ACCESS, s0, 16, sd a0, 16(s0))
    EXPECT_FAULT(7, MSTATUS_MPP_S, CAUSE_FETCH_ACCESS, s0, 0, jalr ra, 0(s0))
    EXPECT_FAULT(8, MSTATUS_MPP_S, CAUSE_LOAD_ACCESS, s1, 8, lw a0, 8(s1))
    EXPECT_FAULT(9, MSTATUS_MPP_S, CAUSE_STORE_ACCESS, s1, 10, sh a0, 10(s1))
    EXPECT_OK(10, MSTATUS_MPP_S, CAUSE_SUPERVISOR_ECALL, lw a0, 12(s1); lw a0, 4(s1); sw a0, 4(s1))
    EXPECT_FAULT(11, MSTATUS_MPP_S, CAUSE_LOAD_ACCESS, s1, 8, ld a0, 8(s1)) /* partly in NA4 */
    TEST_NUM(12)                         /* execute-only region: runs */
    li a0, 0
    RUN_IN MSTATUS_MPP_S, 1f, 2f
1:  jalr ra, 0(s2)
    ecall
2:  CHECK_TA TA_CAUSE, CAUSE_SUPERVISOR_ECALL
    CHECK a0, 42
    EXPECT_FAULT(13, MSTATUS_MPP_S, CAUSE_LOAD_ACCESS, s2, 0, lw a0, 0(s2))
    EXPECT_FAULT(14, 0, CAUSE_STORE_ACCESS, s0, 8, sd a0, 8(s0))   /* U-mode alike */
    EXPECT_FAULT(15, 0, CAUSE_LOAD_ACCESS, s2, 4, lw a0, 4(s2))
    EXPECT_OK(16, 0, CAUSE_USER_ECALL, ld a0, 0(s3); sd a0, 0(s3))
    TEST_NUM(17)                         /* M-mode ignores unlocked entries */
    sd zero, 16(s0)
    lw a0, 8(s1)
    lw a0, 0(s2)

    /* ---- phase 2: no catch-all; entry 15 = TOR [RAM start, pmp_area) RWX ---- */
    li t0, 0x80000000 >> 2
    csrw pmpaddr14, t0
    PMPADDR 15, 0, 0
    li t0, (PMP_TOR | PMP_R | PMP_W | PMP_X) << 56
    csrw pmpcfg2, t0
    sfence.vma
    EXPECT_FAULT(18, MSTATUS_MPP_S, CAUSE_LOAD_ACCESS, s3, 0, ld a0, 0(s3))   /* no match */
    EXPECT_FAULT(19, 0, CAUSE_STORE_ACCESS, s3, 8, sd a0, 8(s3))
    EXPECT_OK(20, MSTATUS_MPP_S, CAUSE_SUPERVISOR_ECALL, ld a0, 0(s0))
    TEST_NUM(21)                         /* M-mode: no match is fine */
    ld a0, 0(s3)
    sd a0, 0(s3)

    /* ---- phase 3: locked entries apply to M-mode and ignore writes ---- */
    PMPADDR 5, E_OFF, 0x1ff
    PMPADDR 6, F_OFF, 0
    PMPADDR 7, F_OFF + 0x1000, 0
    csrr t0, pmpcfg0
    li t1, ((PMP_L | PMP_TOR | PMP_R | PMP_W | PMP_X) << 56) | ((PMP_L | PMP_NAPOT | PMP_R) << 40)
    or t0, t0, t1
    csrw pmpcfg0, t0
    sfence.vma
    TEST_NUM(22)                         /* M-mode load from locked read-only E: fine */
    ld a0, 0(s5)
    TEST_EXC_NOTVAL(23, CAUSE_STORE_ACCESS, sd a0, 24(s5))
    addi t2, s5, 24
    la t3, trap_area
    ld t3, TA_TVAL(t3)
    CHECK_REG t3, t2
    TEST_NUM(24)                         /* M-mode in F (locked TOR RWX): fine */
    sd a0, 0(s6)
    ld a0, 0(s6)
    TEST_NUM(25)                         /* pmpaddr5, 6 (below the locked TOR), 7 ignore writes */
    csrr a1, pmpaddr5
    csrr a2, pmpaddr6
    csrr a3, pmpaddr7
    csrw pmpaddr5, zero
    csrw pmpaddr6, zero
    csrw pmpaddr7, zero
    csrr a0, pmpaddr5
    CHECK_REG a0, a1
    csrr a0, pmpaddr6
    CHECK_REG a0, a2
    csrr a0, pmpaddr7
    CHECK_REG a0, a3
    TEST_NUM(26)                         /* the locked cfg bytes ignore writes, others don't */
    csrw pmpcfg0, zero
    csrr a0, pmpcfg0
    CHECK a0, ((PMP_L | PMP_TOR | PMP_R | PMP_W | PMP_X) << 56) | ((PMP_L | PMP_NAPOT | PMP_R) << 40)
    TEST_NUM(27)                         /* and the lock still holds */
    TEST_EXC_NOTVAL(28, CAUSE_STORE_ACCESS, sw a0, 0(s5))

TEST_END

    .data
    .balign 4096
pmp_area:
    .zero 0x6000
