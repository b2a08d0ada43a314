/* F extension: single-precision floating point (unprivileged spec, chapter 11, and
 * 12.2 for NaN boxing in a 64-bit FLEN).
 *
 * - Arithmetic FADD/FSUB/FMUL/FDIV/FSQRT/FMADD/FMSUB/FNMADD/FNMSUB with exact, inexact
 *   and signed-zero results; the fused multiply-add rounds once.
 * - All five static rounding modes (RNE, RTZ, RDN, RUP, RMM) and the dynamic mode taken
 *   from frm, on a quotient and on exact ties.
 * - Each accrued exception flag: NV, DZ, OF (with the result each rounding mode gives),
 *   UF (tininess detected after rounding, 11.6; no UF for exact subnormals), NX; flags
 *   accumulate.
 * - NaNs: every NaN result is the canonical NaN 0x7fc00000; signaling inputs set NV.
 * - FMIN/FMAX with -0/+0 and NaNs, FEQ/FLT/FLE quiet and signaling behaviour.
 * - FCVT to and from integers: rounding, saturation and NV (table 11.4), sign extension
 *   of 32-bit results.
 * - FCLASS.S for all ten classes; FMV.X.W/FMV.W.X; FSGNJ/FSGNJN/FSGNJX.
 * - NaN boxing: a value without all-ones upper bits reads as the canonical NaN, but
 *   transfers (FSW, FMV.X.W) move the raw low bits and FLW/FMV.W.X box.
 * - fcsr/frm/fflags fields, and the reserved rounding modes raising illegal instruction.
 * Expected values were computed with exact rational arithmetic (not with an FPU).
 */
#include "test_macros.h"

TEST_BEGIN

    /* arithmetic, round to nearest even (11.5 / 12.3) */
    TEST_FP2_RM(1, S, fadd.s, rne, 0x40400000, 0, 0x3f800000, 0x40000000)
    TEST_FP2_RM(2, S, fadd.s, rne, 0x3e99999a, FFLAGS_NX, 0x3dcccccd, 0x3e4ccccd)
    TEST_FP2_RM(3, S, fsub.s, rne, 0x00000000, 0, 0x3f800000, 0x3f800000)   /* x - x = +0 */
    TEST_FP2_RM(4, S, fsub.s, rdn, 0x80000000, 0, 0x3f800000, 0x3f800000)   /* x - x = -0 when rounding down */
    TEST_FP2_RM(5, S, fadd.s, rne, 0x80000000, 0, 0x80000000, 0x80000000)   /* -0 + -0 = -0 */
    TEST_FP2_RM(6, S, fadd.s, rne, 0x00000000, 0, 0x00000000, 0x80000000)   /* +0 + -0 = +0 */
    TEST_FP2_RM(7, S, fmul.s, rne, 0xc0f00000, 0, 0x40400000, 0xc0200000)
    TEST_FP2_RM(8, S, fmul.s, rne, 0x80000000, 0, 0x80000000, 0x40400000)   /* -0 * 3 = -0 */
    TEST_FP2_RM(9, S, fdiv.s, rne, 0x3eaaaaab, FFLAGS_NX, 0x3f800000, 0x40400000)
    TEST_FP2_RM(10, S, fdiv.s, rne, 0xc0600000, 0, 0xc0e00000, 0x40000000)
    TEST_FP1_RM(11, S, fsqrt.s, rne, 0x3fb504f3, FFLAGS_NX, 0x40000000)
    TEST_FP1_RM(12, S, fsqrt.s, rne, 0x40200000, 0, 0x40c80000)
    TEST_FP1_RM(13, S, fsqrt.s, rne, 0x80000000, 0, 0x80000000)   /* sqrt(-0) = -0 */
    TEST_FP1_RM(14, S, fsqrt.s, rne, 0x7f800000, 0, 0x7f800000)
    TEST_FP3_RM(15, S, fmadd.s, rne, 0x40e00000, 0, 0x40000000, 0x40400000, 0x3f800000)   /* 2*3+1 */
    TEST_FP3_RM(16, S, fmsub.s, rne, 0x40a00000, 0, 0x40000000, 0x40400000, 0x3f800000)   /* 2*3-1 */
    TEST_FP3_RM(17, S, fnmsub.s, rne, 0xc0a00000, 0, 0x40000000, 0x40400000, 0x3f800000)   /* -(2*3)+1 */
    TEST_FP3_RM(18, S, fnmadd.s, rne, 0xc0e00000, 0, 0x40000000, 0x40400000, 0x3f800000)   /* -(2*3)-1 */
    TEST_FP3_RM(19, S, fmadd.s, rne, 0xa8800000, 0, 0x3f800001, 0x3f7ffffe, 0xbf800000)   /* fused: (1+u)(1-u)-1 = -u^2, one rounding */
    TEST_FP3_RM(20, S, fnmadd.s, rne, 0x28800000, 0, 0x3f800001, 0x3f7ffffe, 0xbf800000)   /* -(1+u)(1-u)+1 = +u^2 */
    TEST_FP3_RM(21, S, fmadd.s, rne, 0x00000000, 0, 0x3fc00000, 0x40000000, 0xc0400000)   /* exact zero sum: +0 */
    TEST_FP3_RM(22, S, fmadd.s, rdn, 0x80000000, 0, 0x3fc00000, 0x40000000, 0xc0400000)   /* exact zero sum: -0 when rounding down */
    /* every static rounding mode (11.2 table 11.1): 1/3, -1/3, and the ties 1 + u/2, -1 - u/2 */
    TEST_FP2_RM(23, S, fdiv.s, rne, 0x3eaaaaab, FFLAGS_NX, 0x3f800000, 0x40400000)
    TEST_FP2_RM(24, S, fdiv.s, rne, 0xbeaaaaab, FFLAGS_NX, 0xbf800000, 0x40400000)
    TEST_FP2_RM(25, S, fadd.s, rne, 0x3f800000, FFLAGS_NX, 0x3f800000, 0x33800000)
    TEST_FP2_RM(26, S, fadd.s, rne, 0xbf800000, FFLAGS_NX, 0xbf800000, 0xb3800000)
    TEST_FP2_RM(27, S, fdiv.s, rtz, 0x3eaaaaaa, FFLAGS_NX, 0x3f800000, 0x40400000)
    TEST_FP2_RM(28, S, fdiv.s, rtz, 0xbeaaaaaa, FFLAGS_NX, 0xbf800000, 0x40400000)
    TEST_FP2_RM(29, S, fadd.s, rtz, 0x3f800000, FFLAGS_NX, 0x3f800000, 0x33800000)
    TEST_FP2_RM(30, S, fadd.s, rtz, 0xbf800000, FFLAGS_NX, 0xbf800000, 0xb3800000)
    TEST_FP2_RM(31, S, fdiv.s, rdn, 0x3eaaaaaa, FFLAGS_NX, 0x3f800000, 0x40400000)
    TEST_FP2_RM(32, S, fdiv.s, rdn, 0xbeaaaaab, FFLAGS_NX, 0xbf800000, 0x40400000)
    TEST_FP2_RM(33, S, fadd.s, rdn, 0x3f800000, FFLAGS_NX, 0x3f800000, 0x33800000)
    TEST_FP2_RM(34, S, fadd.s, rdn, 0xbf800001, FFLAGS_NX, 0xbf800000, 0xb3800000)
    TEST_FP2_RM(35, S, fdiv.s, rup, 0x3eaaaaab, FFLAGS_NX, 0x3f800000, 0x40400000)
    TEST_FP2_RM(36, S, fdiv.s, rup, 0xbeaaaaaa, FFLAGS_NX, 0xbf800000, 0x40400000)
    TEST_FP2_RM(37, S, fadd.s, rup, 0x3f800001, FFLAGS_NX, 0x3f800000, 0x33800000)
    TEST_FP2_RM(38, S, fadd.s, rup, 0xbf800000, FFLAGS_NX, 0xbf800000, 0xb3800000)
    TEST_FP2_RM(39, S, fdiv.s, rmm, 0x3eaaaaab, FFLAGS_NX, 0x3f800000, 0x40400000)
    TEST_FP2_RM(40, S, fdiv.s, rmm, 0xbeaaaaab, FFLAGS_NX, 0xbf800000, 0x40400000)
    TEST_FP2_RM(41, S, fadd.s, rmm, 0x3f800001, FFLAGS_NX, 0x3f800000, 0x33800000)
    TEST_FP2_RM(42, S, fadd.s, rmm, 0xbf800001, FFLAGS_NX, 0xbf800000, 0xb3800000)
    /* dynamic rounding mode from frm (11.2) */
    fsrmi 0          /* frm = rne */
    TEST_FP2_RM(43, S, fdiv.s, dyn, 0xbeaaaaab, FFLAGS_NX, 0xbf800000, 0x40400000)
    TEST_FP2_RM(43, S, fadd.s, dyn, 0xbf800000, FFLAGS_NX, 0xbf800000, 0xb3800000)
    TEST_FP2_RM(43, S, fadd.s, dyn, 0x3f800000, FFLAGS_NX, 0x3f800000, 0x33800000)
    fsrmi 1          /* frm = rtz */
    TEST_FP2_RM(44, S, fdiv.s, dyn, 0xbeaaaaaa, FFLAGS_NX, 0xbf800000, 0x40400000)
    TEST_FP2_RM(44, S, fadd.s, dyn, 0xbf800000, FFLAGS_NX, 0xbf800000, 0xb3800000)
    TEST_FP2_RM(44, S, fadd.s, dyn, 0x3f800000, FFLAGS_NX, 0x3f800000, 0x33800000)
    fsrmi 2          /* frm = rdn */
    TEST_FP2_RM(45, S, fdiv.s, dyn, 0xbeaaaaab, FFLAGS_NX, 0xbf800000, 0x40400000)
    TEST_FP2_RM(45, S, fadd.s, dyn, 0xbf800001, FFLAGS_NX, 0xbf800000, 0xb3800000)
    TEST_FP2_RM(45, S, fadd.s, dyn, 0x3f800000, FFLAGS_NX, 0x3f800000, 0x33800000)
    fsrmi 3          /* frm = rup */
    TEST_FP2_RM(46, S, fdiv.s, dyn, 0xbeaaaaaa, FFLAGS_NX, 0xbf800000, 0x40400000)
    TEST_FP2_RM(46, S, fadd.s, dyn, 0xbf800000, FFLAGS_NX, 0xbf800000, 0xb3800000)
    TEST_FP2_RM(46, S, fadd.s, dyn, 0x3f800001, FFLAGS_NX, 0x3f800000, 0x33800000)
    fsrmi 4          /* frm = rmm */
    TEST_FP2_RM(47, S, fdiv.s, dyn, 0xbeaaaaab, FFLAGS_NX, 0xbf800000, 0x40400000)
    TEST_FP2_RM(47, S, fadd.s, dyn, 0xbf800001, FFLAGS_NX, 0xbf800000, 0xb3800000)
    TEST_FP2_RM(47, S, fadd.s, dyn, 0x3f800001, FFLAGS_NX, 0x3f800000, 0x33800000)
    fsrmi 0
    /* exception flags (11.2 table 11.2) */
    TEST_FP2_RM(48, S, fmul.s, rne, 0x7fc00000, FFLAGS_NV, 0x7f800000, 0x00000000)   /* NV: inf * 0 */
    TEST_FP2_RM(49, S, fsub.s, rne, 0x7fc00000, FFLAGS_NV, 0x7f800000, 0x7f800000)   /* NV: inf - inf */
    TEST_FP2_RM(50, S, fadd.s, rne, 0x7fc00000, FFLAGS_NV, 0x7f800000, 0xff800000)   /* NV: inf + -inf */
    TEST_FP1_RM(51, S, fsqrt.s, rne, 0x7fc00000, FFLAGS_NV, 0xbf800000)   /* NV: sqrt(-1) */
    TEST_FP2_RM(52, S, fdiv.s, rne, 0x7fc00000, FFLAGS_NV, 0x00000000, 0x00000000)   /* NV: 0/0 (not DZ) */
    TEST_FP2_RM(53, S, fdiv.s, rne, 0x7fc00000, FFLAGS_NV, 0x7f800000, 0x7f800000)   /* NV: inf/inf */
    TEST_FP3_RM(54, S, fmadd.s, rne, 0x7fc00000, FFLAGS_NV, 0x7f800000, 0x00000000, 0x7fc00000)   /* NV: inf*0 + qNaN still signals (11.6) */
    TEST_FP2_RM(55, S, fdiv.s, rne, 0x7f800000, FFLAGS_DZ, 0x3f800000, 0x00000000)   /* DZ: 1/+0 = +inf */
    TEST_FP2_RM(56, S, fdiv.s, rne, 0xff800000, FFLAGS_DZ, 0x3f800000, 0x80000000)   /* DZ: 1/-0 = -inf */
    TEST_FP2_RM(57, S, fdiv.s, rne, 0x7f800000, 0, 0x7f800000, 0x00000000)   /* inf/0 = inf, no DZ */
    TEST_FP2_RM(58, S, fmul.s, rne, 0x7f800000, FFLAGS_OF|FFLAGS_NX, 0x7f7fffff, 0x40000000)   /* OF: max * 2 -> inf */
    TEST_FP2_RM(59, S, fmul.s, rtz, 0x7f7fffff, FFLAGS_OF|FFLAGS_NX, 0x7f7fffff, 0x40000000)   /* OF, RTZ: -> max finite */
    TEST_FP2_RM(60, S, fmul.s, rdn, 0x7f7fffff, FFLAGS_OF|FFLAGS_NX, 0x7f7fffff, 0x40000000)   /* OF, RDN: -> max finite */
    TEST_FP2_RM(61, S, fmul.s, rup, 0x7f800000, FFLAGS_OF|FFLAGS_NX, 0x7f7fffff, 0x40000000)   /* OF, RUP: -> inf */
    TEST_FP2_RM(62, S, fmul.s, rdn, 0xff800000, FFLAGS_OF|FFLAGS_NX, 0xff7fffff, 0x40000000)   /* OF, RDN negative: -> -inf */
    TEST_FP2_RM(63, S, fmul.s, rup, 0xff7fffff, FFLAGS_OF|FFLAGS_NX, 0xff7fffff, 0x40000000)   /* OF, RUP negative: -> -max */
    TEST_FP2_RM(64, S, fadd.s, rne, 0x7f7fffff, FFLAGS_NX, 0x7f7fffff, 0x72800000)   /* max + ulp/4: inexact, no overflow */
    TEST_FP2_RM(65, S, fmul.s, rne, 0x00400000, 0, 0x00800000, 0x3f000000)   /* exact subnormal result: no UF (UF needs inexact) */
    TEST_FP2_RM(66, S, fmul.s, rne, 0x00000000, FFLAGS_UF|FFLAGS_NX, 0x00000001, 0x3f000000)   /* UF|NX: min subnormal/2 ties to 0 */
    TEST_FP2_RM(67, S, fmul.s, rup, 0x00000001, FFLAGS_UF|FFLAGS_NX, 0x00000001, 0x3f000000)   /* UF|NX: rounds up to min subnormal */
    TEST_FP2_RM(68, S, fmul.s, rne, 0x00400000, FFLAGS_UF|FFLAGS_NX, 0x00800001, 0x3f000000)   /* UF|NX: inexact subnormal */
    TEST_FP2_RM(69, S, fdiv.s, rne, 0x002aaaab, FFLAGS_UF|FFLAGS_NX, 0x00800000, 0x40400000)   /* UF|NX */
    TEST_FP2_RM(70, S, fmul.s, rne, 0x00800000, FFLAGS_NX, 0x21118e00, 0x1ee12000)   /* (1 - 2^-(p+1)) * 2^emin rounds to min normal: tiny only before rounding, so no UF (11.6: after rounding) */
    TEST_FP2_RM(71, S, fmul.s, rtz, 0x007fffff, FFLAGS_UF|FFLAGS_NX, 0x21118e00, 0x1ee12000)   /* same product truncated stays subnormal: UF|NX */
    TEST_FP2_RM(72, S, fdiv.s, rne, 0x3eaaaaab, FFLAGS_NX, 0x3f800000, 0x40400000)   /* NX only */
    TEST_NUM(73)                     /* flags accumulate until cleared */
    csrwi fflags, 0
    FLOAD_S(fa1, 0x3f800000)
    FLOAD_S(fa2, 0)
    fdiv.s fa0, fa1, fa2
    FLOAD_S(fa2, 0x40400000)
    fdiv.s fa0, fa1, fa2
    fadd.s fa0, fa1, fa1
    CHECK_FFLAGS(FFLAGS_DZ|FFLAGS_NX)
    /* NaNs: results are the canonical NaN, payloads are not propagated (11.3) */
    TEST_FP2_RM(74, S, fadd.s, rne, 0x7fc00000, 0, 0x7fc12345, 0x3f800000)   /* quiet NaN with payload: no flag */
    TEST_FP2_RM(75, S, fadd.s, rne, 0x7fc00000, FFLAGS_NV, 0x3f800000, 0x7f800001)   /* signaling NaN: NV */
    TEST_FP2_RM(76, S, fmul.s, rne, 0x7fc00000, 0, 0xffc00000, 0x3f800000)   /* negative NaN in: positive canonical NaN out */
    TEST_FP1_RM(77, S, fsqrt.s, rne, 0x7fc00000, FFLAGS_NV, 0xff800001)
    TEST_FP3_RM(78, S, fmadd.s, rne, 0x7fc00000, FFLAGS_NV, 0x3f800000, 0x3f800000, 0x7f800001)
    TEST_FP3_RM(79, S, fmadd.s, rne, 0x7fc00000, 0, 0x7fc12345, 0x3f800000, 0x3f800000)
    TEST_FP2_RM(80, S, fdiv.s, rne, 0x7fc00000, FFLAGS_NV, 0x7f800001, 0x00000000)

    /* ---- FMIN/FMAX (11.6): -0 < +0; a single NaN input gives the other operand;
     * two NaNs give the canonical NaN; a signaling NaN input sets NV ---- */
    TEST_FP2(81, S, fmin.s, 0x80000000, 0, 0x80000000, 0x00000000)
    TEST_FP2(82, S, fmin.s, 0x80000000, 0, 0x00000000, 0x80000000)
    TEST_FP2(83, S, fmax.s, 0x00000000, 0, 0x80000000, 0x00000000)
    TEST_FP2(84, S, fmax.s, 0x00000000, 0, 0x00000000, 0x80000000)
    TEST_FP2(85, S, fmin.s, 0x3f800000, 0, 0x7fc00000, 0x3f800000)
    TEST_FP2(86, S, fmax.s, 0x3f800000, 0, 0x3f800000, 0x7fc12345)
    TEST_FP2(87, S, fmin.s, 0x3f800000, FFLAGS_NV, 0x7f800001, 0x3f800000)
    TEST_FP2(88, S, fmax.s, 0xbf800000, FFLAGS_NV, 0xbf800000, 0xff800001)
    TEST_FP2(89, S, fmin.s, 0x7fc00000, 0, 0x7fc12345, 0xffc00000)
    TEST_FP2(90, S, fmax.s, 0x7fc00000, FFLAGS_NV, 0x7f800001, 0x7fc00000)
    TEST_FP2(91, S, fmin.s, 0xff800000, 0, 0xff800000, 0x40a00000)
    TEST_FP2(92, S, fmax.s, 0x40000000, 0, 0x3f800000, 0x40000000)
    TEST_FP2(93, S, fmin.s, 0xc0000000, 0, 0xc0000000, 0xbf800000)

    /* ---- comparisons (11.8): FEQ is quiet (NV only for sNaN), FLT/FLE signal on
     * any NaN; -0 == +0 ---- */
    TEST_FCMP(94, S, feq.s, 1, 0, 0x3f800000, 0x3f800000)
    TEST_FCMP(95, S, feq.s, 1, 0, 0x80000000, 0x00000000)
    TEST_FCMP(96, S, feq.s, 0, 0, 0x7fc00000, 0x3f800000)
    TEST_FCMP(97, S, feq.s, 0, FFLAGS_NV, 0x7f800001, 0x3f800000)
    TEST_FCMP(98, S, feq.s, 0, 0, 0x7fc00000, 0x7fc00000)
    TEST_FCMP(99, S, flt.s, 1, 0, 0x3f800000, 0x40000000)
    TEST_FCMP(100, S, flt.s, 0, 0, 0x40000000, 0x3f800000)
    TEST_FCMP(101, S, flt.s, 0, 0, 0x80000000, 0x00000000)
    TEST_FCMP(102, S, flt.s, 0, FFLAGS_NV, 0x7fc00000, 0x3f800000)
    TEST_FCMP(103, S, fle.s, 1, 0, 0x40000000, 0x40000000)
    TEST_FCMP(104, S, fle.s, 1, 0, 0x80000000, 0x00000000)
    TEST_FCMP(105, S, fle.s, 0, FFLAGS_NV, 0x3f800000, 0x7fc00000)
    TEST_FCMP(106, S, flt.s, 1, 0, 0xff800000, 0xff7fffff)
    TEST_FCMP(107, S, fle.s, 0, 0, 0x3f800001, 0x3f800000)

    /* ---- float to integer (11.7): rounding, NX, and saturation with NV (table 11.4):
     * NaN and +inf give the largest value, -inf the smallest ---- */
    TEST_F2I(108, S, fcvt.w.s, rne, 2, FFLAGS_NX, 0x3fc00000)          /*  1.5 */
    TEST_F2I(109, S, fcvt.w.s, rtz, 1, FFLAGS_NX, 0x3fc00000)
    TEST_F2I(110, S, fcvt.w.s, rdn, 1, FFLAGS_NX, 0x3fc00000)
    TEST_F2I(111, S, fcvt.w.s, rup, 2, FFLAGS_NX, 0x3fc00000)
    TEST_F2I(112, S, fcvt.w.s, rmm, 2, FFLAGS_NX, 0x3fc00000)
    TEST_F2I(113, S, fcvt.w.s, rne, -2, FFLAGS_NX, 0xbfc00000)         /* -1.5 */
    TEST_F2I(114, S, fcvt.w.s, rtz, -1, FFLAGS_NX, 0xbfc00000)
    TEST_F2I(115, S, fcvt.w.s, rdn, -2, FFLAGS_NX, 0xbfc00000)
    TEST_F2I(116, S, fcvt.w.s, rup, -1, FFLAGS_NX, 0xbfc00000)
    TEST_F2I(117, S, fcvt.w.s, rmm, -2, FFLAGS_NX, 0xbfc00000)
    TEST_F2I(118, S, fcvt.w.s, rne, 2, FFLAGS_NX, 0x40200000)          /*  2.5: tie to even */
    TEST_F2I(119, S, fcvt.w.s, rmm, 3, FFLAGS_NX, 0x40200000)          /*  2.5: tie away */
    fsrmi 2
    TEST_F2I(120, S, fcvt.w.s, dyn, -2, FFLAGS_NX, 0xbfc00000)         /* frm = rdn */
    fsrmi 0
    TEST_F2I(121, S, fcvt.w.s, rtz, 0x7fffffff, FFLAGS_NV, 0x7fc00000) /* NaN */
    TEST_F2I(122, S, fcvt.w.s, rtz, 0x7fffffff, FFLAGS_NV, 0x7f800000) /* +inf */
    TEST_F2I(123, S, fcvt.w.s, rtz, 0xffffffff80000000, FFLAGS_NV, 0xff800000) /* -inf */
    TEST_F2I(124, S, fcvt.w.s, rtz, 0x7fffffff, FFLAGS_NV, 0x4f32d05e) /* 3e9 */
    TEST_F2I(125, S, fcvt.w.s, rtz, 0xffffffff80000000, FFLAGS_NV, 0xcf32d05e) /* -3e9 */
    TEST_F2I(126, S, fcvt.w.s, rtz, 0xffffffff80000000, 0, 0xcf000000) /* -2^31 exact */
    TEST_F2I(127, S, fcvt.w.s, rne, 0, 0, 0x80000000)                  /* -0 */
    TEST_F2I(128, S, fcvt.w.s, rtz, 0x7fffffff, FFLAGS_NV, 0xff800001) /* negative sNaN */
    TEST_F2I(129, S, fcvt.wu.s, rtz, 0, FFLAGS_NV, 0xbf800000)         /* -1 */
    TEST_F2I(130, S, fcvt.wu.s, rtz, 0, FFLAGS_NX, 0xbf000000)         /* -0.5 -> 0: only inexact */
    TEST_F2I(131, S, fcvt.wu.s, rdn, 0, FFLAGS_NV, 0xbf000000)         /* -0.5 -> -1: invalid */
    TEST_F2I(132, S, fcvt.wu.s, rtz, 0xffffffffffffff00, 0, 0x4f7fffff) /* W result sign-extended */
    TEST_F2I(133, S, fcvt.wu.s, rtz, 0xffffffffffffffff, FFLAGS_NV, 0x7fc00000)
    TEST_F2I(134, S, fcvt.wu.s, rtz, 0xffffffffffffffff, FFLAGS_NV, 0x7f800000)
    TEST_F2I(135, S, fcvt.wu.s, rtz, 0, FFLAGS_NV, 0xff800000)
    TEST_F2I(136, S, fcvt.wu.s, rtz, 0xffffffffffffffff, FFLAGS_NV, 0x5f000000) /* 2^63 */
    TEST_F2I(137, S, fcvt.l.s, rtz, 0x7fffffffffffffff, FFLAGS_NV, 0x7fc00000)
    TEST_F2I(138, S, fcvt.l.s, rtz, 0x8000000000000000, FFLAGS_NV, 0xff800000)
    TEST_F2I(139, S, fcvt.l.s, rtz, 0x7fffffffffffffff, FFLAGS_NV, 0x5f000000) /* 2^63 */
    TEST_F2I(140, S, fcvt.l.s, rtz, 0x8000000000000000, 0, 0xdf000000) /* -2^63 exact */
    TEST_F2I(141, S, fcvt.l.s, rtz, 3000000000, 0, 0x4f32d05e)
    TEST_F2I(142, S, fcvt.l.s, rne, -2, FFLAGS_NX, 0xbfc00000)
    TEST_F2I(143, S, fcvt.lu.s, rtz, 0, FFLAGS_NV, 0xff800000)
    TEST_F2I(144, S, fcvt.lu.s, rtz, 0xffffffffffffffff, FFLAGS_NV, 0x7fc00000)
    TEST_F2I(145, S, fcvt.lu.s, rtz, 0xffffffffffffffff, FFLAGS_NV, 0x5f800000) /* 2^64 */
    TEST_F2I(146, S, fcvt.lu.s, rtz, 0xffffff0000000000, 0, 0x5f7fffff)
    TEST_F2I(147, S, fcvt.lu.s, rtz, 0, FFLAGS_NV, 0xbf800000)
    TEST_F2I(148, S, fcvt.lu.s, rup, 1, FFLAGS_NX, 0x3f000000)         /* 0.5 up */

    /* ---- integer to float (11.7) ---- */
    TEST_I2F(149, S, fcvt.s.w, rne, 0x4f000000, FFLAGS_NX, 0x7fffffff)
    TEST_I2F(150, S, fcvt.s.w, rtz, 0x4effffff, FFLAGS_NX, 0x7fffffff)
    TEST_I2F(151, S, fcvt.s.w, rne, 0xbf800000, 0, -1)
    TEST_I2F(152, S, fcvt.s.w, rne, 0x40400000, 0, 0x100000003)        /* low 32 bits only */
    TEST_I2F(153, S, fcvt.s.w, rne, 0xcf000000, 0, 0x80000000)         /* low word -2^31 */
    TEST_I2F(154, S, fcvt.s.wu, rne, 0x4f800000, FFLAGS_NX, 0xffffffffffffffff)
    TEST_I2F(155, S, fcvt.s.wu, rtz, 0x4f7fffff, FFLAGS_NX, 0xffffffff)
    TEST_I2F(156, S, fcvt.s.l, rne, 0xbf800000, 0, -1)
    TEST_I2F(157, S, fcvt.s.l, rne, 0x5f000000, FFLAGS_NX, 0x7fffffffffffffff)
    TEST_I2F(158, S, fcvt.s.l, rne, 0xdf000000, 0, 0x8000000000000000)
    TEST_I2F(159, S, fcvt.s.lu, rne, 0x5f800000, FFLAGS_NX, -1)
    TEST_I2F(160, S, fcvt.s.lu, rdn, 0x5f7fffff, FFLAGS_NX, -1)
    TEST_I2F(161, S, fcvt.s.l, rne, 0x00000000, 0, 0)                  /* +0, never -0 */
    TEST_I2F(162, S, fcvt.s.w, rup, 0x4b800001, FFLAGS_NX, 16777217)   /* 2^24+1 up */

    /* ---- FCLASS.S (11.9): one bit per class ---- */
    TEST_FCLASS(163, S, fclass.s, 0x001, 0xff800000)   /* -inf */
    TEST_FCLASS(164, S, fclass.s, 0x002, 0xbf800000)   /* negative normal */
    TEST_FCLASS(165, S, fclass.s, 0x004, 0x807fffff)   /* negative subnormal */
    TEST_FCLASS(166, S, fclass.s, 0x008, 0x80000000)   /* -0 */
    TEST_FCLASS(167, S, fclass.s, 0x010, 0x00000000)   /* +0 */
    TEST_FCLASS(168, S, fclass.s, 0x020, 0x00000001)   /* positive subnormal */
    TEST_FCLASS(169, S, fclass.s, 0x040, 0x7f7fffff)   /* positive normal */
    TEST_FCLASS(170, S, fclass.s, 0x080, 0x7f800000)   /* +inf */
    TEST_FCLASS(171, S, fclass.s, 0x100, 0x7f800001)   /* signaling NaN */
    TEST_FCLASS(172, S, fclass.s, 0x200, 0x7fc00000)   /* quiet NaN */
    TEST_FCLASS(173, S, fclass.s, 0x100, 0xffbfffff)
    TEST_FCLASS(174, S, fclass.s, 0x200, 0xffc00001)

    /* ---- moves (11.7): FMV.X.W sign-extends, FMV.W.X NaN-boxes, no canonicalization ---- */
    TEST_CASE(175, a0, 0xffffffff80000000, li a1, 0x80000000; fmv.w.x fa0, a1; fmv.x.w a0, fa0)
    TEST_CASE(176, a0, 0xffffffff3f800000, li a1, 0x123456783f800000; fmv.w.x fa0, a1; fmv.x.d a0, fa0)
    TEST_CASE(177, a0, 0x7f800001, csrwi fflags, 0; FLOAD_S(fa0, 0x7f800001); fmv.x.w a0, fa0)
    CHECK_FFLAGS(0)
    /* FMV.X.W reads the low 32 bits whatever the upper half holds (12.2) */
    TEST_CASE(178, a0, 0xffffffff9abcdef0, FLOAD_D(fa0, 0x123456789abcdef0); fmv.x.w a0, fa0)

    /* ---- sign injection (11.6): no canonicalization, no flags ---- */
    TEST_FP2(179, S, fsgnj.s, 0xbf800000, 0, 0x3f800000, 0xc0000000)
    TEST_FP2(180, S, fsgnjn.s, 0x3f800000, 0, 0x3f800000, 0xc0000000)
    TEST_FP2(181, S, fsgnjx.s, 0x3f800000, 0, 0xbf800000, 0xc0000000)
    TEST_FP2(182, S, fsgnjx.s, 0xbf800000, 0, 0x3f800000, 0xc0000000)
    TEST_FP2(183, S, fsgnjn.s, 0xff800001, 0, 0x7f800001, 0x7f800001)
    TEST_FP2(184, S, fsgnj.s, 0x7fc12345, 0, 0xffc12345, 0x00000000)
    TEST_CASE(185, a0, BOX_S(0x3f800000), FLOAD_S(fa1, 0xbf800000); fabs.s fa0, fa1; fmv.x.d a0, fa0)
    TEST_CASE(186, a0, BOX_S(0xff800001), FLOAD_S(fa1, 0x7f800001); fneg.s fa0, fa1; fmv.x.d a0, fa0)
    TEST_CASE(187, a0, BOX_S(0x7f800001), FLOAD_S(fa1, 0x7f800001); fmv.s fa0, fa1; fmv.x.d a0, fa0)

    /* ---- NaN boxing (12.2): an operation reading a 32-bit operand from a register
     * whose upper 32 bits are not all ones sees the canonical NaN ---- */
    FLOAD_D(fs1, 0x00000000bf800000)      /* -1.0 not boxed */
    FLOAD_D(fs2, 0xfffffffe3f800000)      /* 1.0 with one upper bit clear */
    FLOAD_S(fs3, 0x40000000)              /* 2.0, boxed */
    FLOAD_S(fs4, 0xbf800000)              /* -1.0, boxed */
    TEST_CASE(188, a0, BOX_S(0x7fc00000), csrwi fflags, 0; fadd.s fa0, fs1, fs3; fmv.x.d a0, fa0)
    CHECK_FFLAGS(0)                       /* the canonical NaN is quiet */
    TEST_CASE(189, a0, BOX_S(0x7fc00000), fmul.s fa0, fs3, fs2; fmv.x.d a0, fa0)
    TEST_CASE(190, a0, BOX_S(0xffc00000), fsgnj.s fa0, fs1, fs4; fmv.x.d a0, fa0)
    TEST_CASE(191, a0, BOX_S(0x40000000), fsgnj.s fa0, fs3, fs1; fmv.x.d a0, fa0) /* sign of NaN: + */
    TEST_CASE(192, a0, BOX_S(0x7fc00000), fmv.s fa0, fs1; fmv.x.d a0, fa0)
    TEST_CASE(193, a0, 0x200, fclass.s a0, fs1)
    TEST_CASE(194, a0, 0x7ff8000000000000, csrwi fflags, 0; fcvt.d.s fa0, fs2; fmv.x.d a0, fa0)
    CHECK_FFLAGS(0)
    TEST_CASE(195, a0, BOX_S(0x40000000), fmin.s fa0, fs1, fs3; fmv.x.d a0, fa0)
    TEST_CASE(196, a0, 0, csrwi fflags, 0; feq.s a0, fs1, fs1)
    CHECK_FFLAGS(0)
    TEST_CASE(197, a0, 0x7fffffff, csrwi fflags, 0; fcvt.w.s a0, fs1, rtz)
    CHECK_FFLAGS(FFLAGS_NV)
    /* stores and loads are transfers: FSW writes the low 32 bits as they are, FLW
     * boxes without canonicalizing */
    TEST_CASE(198, a0, 0xbf800000, la a1, fp_buf; fsw fs1, 0(a1); lwu a0, 0(a1))
    TEST_CASE(199, a0, BOX_S(0x7f800001), la a1, fp_buf; li a2, 0x7f800001; sw a2, 4(a1); \
              flw fa0, 4(a1); fmv.x.d a0, fa0)
    TEST_CASE(200, a0, BOX_S(0x40490fdb), la a1, fp_buf + 16; li a2, 0x40490fdb; sw a2, -8(a1); \
              flw fa0, -8(a1); fmv.x.d a0, fa0)

    /* ---- fcsr, frm, fflags (11.2) ---- */
    TEST_NUM(201)
    li a1, 0xff
    csrw fcsr, a1
    CHECK_CSR fcsr, 0xff
    CHECK_CSR frm, 7
    CHECK_CSR fflags, 0x1f
    TEST_NUM(202)                         /* bits 31:8 are reserved: read as zero */
    li a1, -1
    csrw fcsr, a1
    CHECK_CSR fcsr, 0xff
    TEST_NUM(203)                         /* fflags and frm are views of fcsr */
    csrwi fcsr, 0
    csrwi fflags, 0x1f
    csrwi frm, 3
    CHECK_CSR fcsr, 0x7f
    TEST_NUM(204)                         /* FSRM returns the old value */
    li a1, 2
    fsrm a0, a1
    CHECK a0, 3
    frrm a0
    CHECK a0, 2
    li a1, 0x21
    fsflags a0, a1
    CHECK a0, 0x1f
    CHECK_CSR fcsr, 0x41
    csrwi fcsr, 0

    /* ---- reserved rounding modes (11.2): frm = 5, 6, 7 makes dynamic-rounding
     * instructions illegal; rm = 5, 6 in the instruction is illegal ---- */
    FLOAD_S(fa1, 0x3f800000)
    FLOAD_S(fa2, 0x40000000)
    fsrmi 5
    TEST_ILLEGAL(205, fadd.s fa0, fa1, fa2, dyn)
    fsrmi 6
    TEST_ILLEGAL(206, fmul.s fa0, fa1, fa2, dyn)
    fsrmi 7
    TEST_ILLEGAL(207, fcvt.w.s a0, fa1, dyn)
    TEST_NUM(208)                         /* no rounding involved: still fine */
    fmin.s fa0, fa1, fa2
    fsgnj.s fa0, fa0, fa2
    fmv.x.w a0, fa0
    CHECK a0, 0x3f800000
    TEST_NUM(209)                         /* fadd.s rne still fine */
    fadd.s fa0, fa1, fa2, rne
    fmv.x.w a0, fa0
    CHECK a0, 0x40400000
    fsrmi 0
    TEST_ILLEGAL(210, .insn r OP_FP, 5, 0, fa0, fa1, fa2)    /* fadd.s, rm = 5 */
    TEST_ILLEGAL(211, .insn r OP_FP, 6, 8, fa0, fa1, fa2)    /* fmul.s, rm = 6 */

TEST_END

    .data
    .align 4
fp_buf:
    .dword 0, 0, 0, 0
