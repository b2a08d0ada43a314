/* Floating-point context status: mstatus.FS and SD (privileged spec 3.1.6.6).
 *
 * - FS = Off: every F/D instruction (arithmetic, moves, loads, stores, compressed
 *   C.FLD/C.FSDSP) and every access to fcsr/frm/fflags raises illegal instruction with
 *   mtval = the instruction bits, in M- and S-mode; the FP state itself is kept.
 * - An instruction that writes an f register or fcsr (arithmetic, FMV.D.X, FLW, CSR
 *   writes of fflags/frm/fcsr) moves FS from Initial or Clean to Dirty.
 * - SD = 1 exactly when FS = Dirty (XS = VS = 0 here), in mstatus and sstatus (bit 63);
 *   sstatus.FS is a view of mstatus.FS.
 * (An instruction that only sets fflags, like FEQ on a signaling NaN, must also make FS
 * Dirty; QEMU 7.2 does not, so qemu_deviations.S checks that.)
 */
#include "test_macros.h"

/* Set mstatus.FS to `fs` (0-3 in place). */
.macro SET_FS fs
    li t0, MSTATUS_FS
    csrc mstatus, t0
    li t0, \fs
    csrs mstatus, t0
.endm

/* Check mstatus.FS and SD. */
.macro CHECK_FS fs, sd
    CHECK_CSR_MASK mstatus, MSTATUS_FS | MSTATUS_SD, \fs | \sd
.endm

TEST_BEGIN
    li t0, 0x23
    csrw fcsr, t0
    li a1, 0x3ff0000000000000
    fmv.d.x fa1, a1
    fmv.d.x fa2, a1

    /* ---- FS = Off ---- */
    SET_FS 0
    TEST_NUM(1)
    CHECK_FS 0, 0
    la a2, fp_buf
    TEST_ILLEGAL(2, fadd.d fa0, fa1, fa2)
    TEST_ILLEGAL(3, fmv.x.d a0, fa1)
    TEST_ILLEGAL(4, fmv.d.x fa0, a1)
    TEST_ILLEGAL(5, flw fa0, 0(a2))
    TEST_ILLEGAL(6, fsd fa1, 0(a2))
    TEST_ILLEGAL(7, csrr a0, fcsr)
    TEST_ILLEGAL(8, csrr a0, fflags)
    TEST_ILLEGAL(9, csrwi frm, 1)
    TEST_ILLEGAL(10, fcvt.w.d a0, fa1)
    TEST_ILLEGAL(11, feq.d a0, fa1, fa2)
    TEST_ILLEGAL(12, fmadd.d fa0, fa1, fa2, fa1)
    .option push
    .option rvc
    mv s0, a2
    TEST_EXC(13, CAUSE_ILLEGAL_INSTRUCTION, 0x2008, c.fld fa0, 0(s0))
    .option pop
    TEST_NUM(14)                         /* S-mode with FS = Off */
    RUN_IN MSTATUS_MPP_S, 1f, 2f
1:  fadd.s fa0, fa1, fa2
    j fail
2:  CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 1b
    CHECK_TVAL_INSN
    TEST_NUM(15)                         /* FS = Off kept the state */
    SET_FS MSTATUS_FS_CLEAN
    CHECK_CSR fcsr, 0x23
    fmv.x.d a0, fa1
    CHECK a0, 0x3ff0000000000000

    /* ---- becoming Dirty ---- */
    TEST_NUM(16)                         /* reads do not need Dirty: still allowed */
    CHECK_FS MSTATUS_FS_CLEAN, 0
    SET_FS MSTATUS_FS_INITIAL
    TEST_NUM(17)
    CHECK_FS MSTATUS_FS_INITIAL, 0
    fadd.d fa0, fa1, fa2
    CHECK_FS MSTATUS_FS_DIRTY, MSTATUS_SD
    TEST_NUM(18)
    SET_FS MSTATUS_FS_CLEAN
    fmv.d.x fa0, a1
    CHECK_FS MSTATUS_FS_DIRTY, MSTATUS_SD
    TEST_NUM(19)
    SET_FS MSTATUS_FS_CLEAN
    la a2, fp_buf
    flw fa0, 0(a2)
    CHECK_FS MSTATUS_FS_DIRTY, MSTATUS_SD
    TEST_NUM(20)
    SET_FS MSTATUS_FS_INITIAL
    csrwi fflags, 1
    CHECK_FS MSTATUS_FS_DIRTY, MSTATUS_SD
    TEST_NUM(21)
    SET_FS MSTATUS_FS_CLEAN
    csrwi frm, 2
    CHECK_FS MSTATUS_FS_DIRTY, MSTATUS_SD
    TEST_NUM(22)
    SET_FS MSTATUS_FS_CLEAN
    li a0, 0
    csrw fcsr, a0
    CHECK_FS MSTATUS_FS_DIRTY, MSTATUS_SD
    TEST_NUM(23)                         /* Dirty stays Dirty; writing FS = Clean clears SD */
    fadd.d fa0, fa1, fa2
    CHECK_FS MSTATUS_FS_DIRTY, MSTATUS_SD
    SET_FS MSTATUS_FS_CLEAN
    CHECK_FS MSTATUS_FS_CLEAN, 0

    /* ---- sstatus view ---- */
    TEST_NUM(24)
    SET_FS MSTATUS_FS_DIRTY
    CHECK_CSR_MASK sstatus, MSTATUS_FS | MSTATUS_SD, MSTATUS_FS_DIRTY | MSTATUS_SD
    TEST_NUM(25)                         /* S-mode writes FS through sstatus */
    RUN_IN MSTATUS_MPP_S, 3f, 4f
3:  li t0, MSTATUS_FS
    csrc sstatus, t0
    li t0, MSTATUS_FS_INITIAL
    csrs sstatus, t0
    ecall
4:  CHECK_FS MSTATUS_FS_INITIAL, 0
    TEST_NUM(26)                         /* and an FP write in S-mode makes it Dirty */
    RUN_IN MSTATUS_MPP_S, 5f, 6f
5:  fsub.d fa0, fa1, fa2
    ecall
6:  CHECK_FS MSTATUS_FS_DIRTY, MSTATUS_SD
    CHECK_CSR_MASK sstatus, MSTATUS_SD, MSTATUS_SD

TEST_END

    .data
    .align 3
fp_buf: .dword 0x3f800000
