/* mstatus and its S-mode view sstatus (privileged spec 3.1.6, 4.1.1).
 *
 * - At reset SXL = UXL = 2 (64-bit S and U modes); MBE = SBE = UBE = 0 (little-endian
 *   only); XS = 0.
 * - MIE, SIE, MPIE, SPIE, SPP, MPRV, SUM, MXR, TVM, TW, TSR, FS are writable; MPP holds
 *   the modes that exist (M, S, U).
 * - sstatus shows SIE, SPIE, SPP, FS, XS, SUM, MXR, UXL and SD; a write to sstatus
 *   changes only the S fields and leaves the M-only fields (MIE, MPIE, MPP, MPRV, TVM,
 *   TW, TSR) alone.
 */
#include "test_macros.h"

#define MSTATUS_UXL (3 << 32)
#define MSTATUS_SXL (3 << 34)
#define MSTATUS_SBE (1 << 36)
#define MSTATUS_MBE (1 << 37)
#define M_ONLY (MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_MPRV | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR)
#define S_FIELDS (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS | MSTATUS_SUM | MSTATUS_MXR)

TEST_BEGIN
    TEST_NUM(1)
    CHECK_CSR_MASK mstatus, MSTATUS_UXL | MSTATUS_SXL, (2 << 32) | (2 << 34)
    CHECK_CSR_MASK mstatus, MSTATUS_MBE | MSTATUS_SBE | MSTATUS_UBE | MSTATUS_XS, 0
    TEST_NUM(2)                          /* the writable fields (MPRV last: MPP = M) */
    li t0, M_ONLY | S_FIELDS
    csrs mstatus, t0
    CHECK_CSR_MASK mstatus, M_ONLY | S_FIELDS, M_ONLY | S_FIELDS
    li t0, M_ONLY | S_FIELDS
    csrc mstatus, t0
    CHECK_CSR_MASK mstatus, M_ONLY | S_FIELDS, 0
    TEST_NUM(3)                          /* MPP = S and U */
    li t0, MSTATUS_MPP_S
    csrs mstatus, t0
    CHECK_CSR_MASK mstatus, MSTATUS_MPP, MSTATUS_MPP_S
    li t0, MSTATUS_MPP
    csrc mstatus, t0
    CHECK_CSR_MASK mstatus, MSTATUS_MPP, 0
    TEST_NUM(4)                          /* sstatus: what it shows */
    li t0, M_ONLY | S_FIELDS
    csrs mstatus, t0                     /* (FS = Dirty now) */
    csrr a0, sstatus
    li t0, M_ONLY
    and a1, a0, t0
    CHECK a1, 0
    li t0, S_FIELDS | MSTATUS_SD
    and a1, a0, t0
    CHECK a1, S_FIELDS | MSTATUS_SD
    li t0, MSTATUS_UXL
    and a1, a0, t0
    CHECK a1, 2 << 32
    TEST_NUM(5)                          /* sstatus writes leave the M-only fields */
    csrw sstatus, zero
    CHECK_CSR_MASK mstatus, M_ONLY | S_FIELDS, M_ONLY
    li t0, MSTATUS_MPRV
    csrc mstatus, t0
    li t0, -1
    csrw sstatus, t0
    CHECK_CSR_MASK mstatus, M_ONLY | S_FIELDS, (M_ONLY & ~MSTATUS_MPRV) | S_FIELDS
    TEST_NUM(6)                          /* ...also when written from S-mode */
    li t0, MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR
    csrc mstatus, t0
    li t0, MSTATUS_SUM | MSTATUS_MXR
    csrc mstatus, t0
    RUN_IN MSTATUS_MPP_S, 1f, 2f
1:  li t0, MSTATUS_SUM | MSTATUS_MXR | MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_TSR
    csrs sstatus, t0
    ecall
2:  CHECK_TA_MASK TA_MSTATUS, MSTATUS_SUM | MSTATUS_MXR | MSTATUS_TSR, MSTATUS_SUM | MSTATUS_MXR
    li t0, MSTATUS_SUM | MSTATUS_MXR
    csrc mstatus, t0
TEST_END
