/* D extension: double-precision floating point (unprivileged spec, chapter 12, with
 * the rules of chapter 11 it refers to).
 *
 * - Arithmetic, fused multiply-add, every static rounding mode and dynamic frm, each
 *   exception flag (tininess after rounding), canonical NaN 0x7ff8000000000000 — the
 *   same plan as rv64f.S, on doubles.
 * - FMIN/FMAX, FEQ/FLT/FLE, FCVT.{W,WU,L,LU}.D saturation (table 11.4) and
 *   FCVT.D.{W,WU,L,LU} rounding.
 * - FCVT.S.D rounding, overflow, underflow and NaN handling; FCVT.D.S exactness.
 * - FCLASS.D; FMV.X.D/FMV.D.X, FSGNJ*.D, FLD/FSD move bits without canonicalizing; D
 *   operations read a NaN-boxed single as the (quiet) NaN it is as a double.
 * - Reserved rounding modes raise illegal instruction.
 * Expected values were computed with exact rational arithmetic (not with an FPU).
 */
#include "test_macros.h"

TEST_BEGIN

    /* arithmetic, round to nearest even (11.5 / 12.3) */
    TEST_FP2_RM(1, D, fadd.d, rne, 0x4008000000000000, 0, 0x3ff0000000000000, 0x4000000000000000)
    TEST_FP2_RM(2, D, fadd.d, rne, 0x3fd3333333333334, FFLAGS_NX, 0x3fb999999999999a, 0x3fc999999999999a)
    TEST_FP2_RM(3, D, fsub.d, rne, 0x0000000000000000, 0, 0x3ff0000000000000, 0x3ff0000000000000)   /* x - x = +0 */
    TEST_FP2_RM(4, D, fsub.d, rdn, 0x8000000000000000, 0, 0x3ff0000000000000, 0x3ff0000000000000)   /* x - x = -0 when rounding down */
    TEST_FP2_RM(5, D, fadd.d, rne, 0x8000000000000000, 0, 0x8000000000000000, 0x8000000000000000)   /* -0 + -0 = -0 */
    TEST_FP2_RM(6, D, fadd.d, rne, 0x0000000000000000, 0, 0x0000000000000000, 0x8000000000000000)   /* +0 + -0 = +0 */
    TEST_FP2_RM(7, D, fmul.d, rne, 0xc01e000000000000, 0, 0x4008000000000000, 0xc004000000000000)
    TEST_FP2_RM(8, D, fmul.d, rne, 0x8000000000000000, 0, 0x8000000000000000, 0x4008000000000000)   /* -0 * 3 = -0 */
    TEST_FP2_RM(9, D, fdiv.d, rne, 0x3fd5555555555555, FFLAGS_NX, 0x3ff0000000000000, 0x4008000000000000)
    TEST_FP2_RM(10, D, fdiv.d, rne, 0xc00c000000000000, 0, 0xc01c000000000000, 0x4000000000000000)
    TEST_FP1_RM(11, D, fsqrt.d, rne, 0x3ff6a09e667f3bcd, FFLAGS_NX, 0x4000000000000000)
    TEST_FP1_RM(12, D, fsqrt.d, rne, 0x4004000000000000, 0, 0x4019000000000000)
    TEST_FP1_RM(13, D, fsqrt.d, rne, 0x8000000000000000, 0, 0x8000000000000000)   /* sqrt(-0) = -0 */
    TEST_FP1_RM(14, D, fsqrt.d, rne, 0x7ff0000000000000, 0, 0x7ff0000000000000)
    TEST_FP3_RM(15, D, fmadd.d, rne, 0x401c000000000000, 0, 0x4000000000000000, 0x4008000000000000, 0x3ff0000000000000)   /* 2*3+1 */
    TEST_FP3_RM(16, D, fmsub.d, rne, 0x4014000000000000, 0, 0x4000000000000000, 0x4008000000000000, 0x3ff0000000000000)   /* 2*3-1 */
    TEST_FP3_RM(17, D, fnmsub.d, rne, 0xc014000000000000, 0, 0x4000000000000000, 0x4008000000000000, 0x3ff0000000000000)   /* -(2*3)+1 */
    TEST_FP3_RM(18, D, fnmadd.d, rne, 0xc01c000000000000, 0, 0x4000000000000000, 0x4008000000000000, 0x3ff0000000000000)   /* -(2*3)-1 */
    TEST_FP3_RM(19, D, fmadd.d, rne, 0xb970000000000000, 0, 0x3ff0000000000001, 0x3feffffffffffffe, 0xbff0000000000000)   /* fused: (1+u)(1-u)-1 = -u^2, one rounding */
    TEST_FP3_RM(20, D, fnmadd.d, rne, 0x3970000000000000, 0, 0x3ff0000000000001, 0x3feffffffffffffe, 0xbff0000000000000)   /* -(1+u)(1-u)+1 = +u^2 */
    TEST_FP3_RM(21, D, fmadd.d, rne, 0x0000000000000000, 0, 0x3ff8000000000000, 0x4000000000000000, 0xc008000000000000)   /* exact zero sum: +0 */
    TEST_FP3_RM(22, D, fmadd.d, rdn, 0x8000000000000000, 0, 0x3ff8000000000000, 0x4000000000000000, 0xc008000000000000)   /* exact zero sum: -0 when rounding down */
    /* every static rounding mode (11.2 table 11.1): 1/3, -1/3, and the ties 1 + u/2, -1 - u/2 */
    TEST_FP2_RM(23, D, fdiv.d, rne, 0x3fd5555555555555, FFLAGS_NX, 0x3ff0000000000000, 0x4008000000000000)
    TEST_FP2_RM(24, D, fdiv.d, rne, 0xbfd5555555555555, FFLAGS_NX, 0xbff0000000000000, 0x4008000000000000)
    TEST_FP2_RM(25, D, fadd.d, rne, 0x3ff0000000000000, FFLAGS_NX, 0x3ff0000000000000, 0x3ca0000000000000)
    TEST_FP2_RM(26, D, fadd.d, rne, 0xbff0000000000000, FFLAGS_NX, 0xbff0000000000000, 0xbca0000000000000)
    TEST_FP2_RM(27, D, fdiv.d, rtz, 0x3fd5555555555555, FFLAGS_NX, 0x3ff0000000000000, 0x4008000000000000)
    TEST_FP2_RM(28, D, fdiv.d, rtz, 0xbfd5555555555555, FFLAGS_NX, 0xbff0000000000000, 0x4008000000000000)
    TEST_FP2_RM(29, D, fadd.d, rtz, 0x3ff0000000000000, FFLAGS_NX, 0x3ff0000000000000, 0x3ca0000000000000)
    TEST_FP2_RM(30, D, fadd.d, rtz, 0xbff0000000000000, FFLAGS_NX, 0xbff0000000000000, 0xbca0000000000000)
    TEST_FP2_RM(31, D, fdiv.d, rdn, 0x3fd5555555555555, FFLAGS_NX, 0x3ff0000000000000, 0x4008000000000000)
    TEST_FP2_RM(32, D, fdiv.d, rdn, 0xbfd5555555555556, FFLAGS_NX, 0xbff0000000000000, 0x4008000000000000)
    TEST_FP2_RM(33, D, fadd.d, rdn, 0x3ff0000000000000, FFLAGS_NX, 0x3ff0000000000000, 0x3ca0000000000000)
    TEST_FP2_RM(34, D, fadd.d, rdn, 0xbff0000000000001, FFLAGS_NX, 0xbff0000000000000, 0xbca0000000000000)
    TEST_FP2_RM(35, D, fdiv.d, rup, 0x3fd5555555555556, FFLAGS_NX, 0x3ff0000000000000, 0x4008000000000000)
    TEST_FP2_RM(36, D, fdiv.d, rup, 0xbfd5555555555555, FFLAGS_NX, 0xbff0000000000000, 0x4008000000000000)
    TEST_FP2_RM(37, D, fadd.d, rup, 0x3ff0000000000001, FFLAGS_NX, 0x3ff0000000000000, 0x3ca0000000000000)
    TEST_FP2_RM(38, D, fadd.d, rup, 0xbff0000000000000, FFLAGS_NX, 0xbff0000000000000, 0xbca0000000000000)
    TEST_FP2_RM(39, D, fdiv.d, rmm, 0x3fd5555555555555, FFLAGS_NX, 0x3ff0000000000000, 0x4008000000000000)
    TEST_FP2_RM(40, D, fdiv.d, rmm, 0xbfd5555555555555, FFLAGS_NX, 0xbff0000000000000, 0x4008000000000000)
    TEST_FP2_RM(41, D, fadd.d, rmm, 0x3ff0000000000001, FFLAGS_NX, 0x3ff0000000000000, 0x3ca0000000000000)
    TEST_FP2_RM(42, D, fadd.d, rmm, 0xbff0000000000001, FFLAGS_NX, 0xbff0000000000000, 0xbca0000000000000)
    /* dynamic rounding mode from frm (11.2) */
    fsrmi 0          /* frm = rne */
    TEST_FP2_RM(43, D, fdiv.d, dyn, 0xbfd5555555555555, FFLAGS_NX, 0xbff0000000000000, 0x4008000000000000)
    TEST_FP2_RM(43, D, fadd.d, dyn, 0xbff0000000000000, FFLAGS_NX, 0xbff0000000000000, 0xbca0000000000000)
    TEST_FP2_RM(43, D, fadd.d, dyn, 0x3ff0000000000000, FFLAGS_NX, 0x3ff0000000000000, 0x3ca0000000000000)
    fsrmi 1          /* frm = rtz */
    TEST_FP2_RM(44, D, fdiv.d, dyn, 0xbfd5555555555555, FFLAGS_NX, 0xbff0000000000000, 0x4008000000000000)
    TEST_FP2_RM(44, D, fadd.d, dyn, 0xbff0000000000000, FFLAGS_NX, 0xbff0000000000000, 0xbca0000000000000)
    TEST_FP2_RM(44, D, fadd.d, dyn, 0x3ff0000000000000, FFLAGS_NX, 0x3ff0000000000000, 0x3ca0000000000000)
    fsrmi 2          /* frm = rdn */
    TEST_FP2_RM(45, D, fdiv.d, dyn, 0xbfd5555555555556, FFLAGS_NX, 0xbff0000000000000, 0x4008000000000000)
    TEST_FP2_RM(45, D, fadd.d, dyn, 0xbff0000000000001, FFLAGS_NX, 0xbff0000000000000, 0xbca0000000000000)
    TEST_FP2_RM(45, D, fadd.d, dyn, 0x3ff0000000000000, FFLAGS_NX, 0x3ff0000000000000, 0x3ca0000000000000)
    fsrmi 3          /* frm = rup */
    TEST_FP2_RM(46, D, fdiv.d, dyn, 0xbfd5555555555555, FFLAGS_NX, 0xbff0000000000000, 0x4008000000000000)
    TEST_FP2_RM(46, D, fadd.d, dyn, 0xbff0000000000000, FFLAGS_NX, 0xbff0000000000000, 0xbca0000000000000)
    TEST_FP2_RM(46, D, fadd.d, dyn, 0x3ff0000000000001, FFLAGS_NX, 0x3ff0000000000000, 0x3ca0000000000000)
    fsrmi 4          /* frm = rmm */
    TEST_FP2_RM(47, D, fdiv.d, dyn, 0xbfd5555555555555, FFLAGS_NX, 0xbff0000000000000, 0x4008000000000000)
    TEST_FP2_RM(47, D, fadd.d, dyn, 0xbff0000000000001, FFLAGS_NX, 0xbff0000000000000, 0xbca0000000000000)
    TEST_FP2_RM(47, D, fadd.d, dyn, 0x3ff0000000000001, FFLAGS_NX, 0x3ff0000000000000, 0x3ca0000000000000)
    fsrmi 0
    /* exception flags (11.2 table 11.2) */
    TEST_FP2_RM(48, D, fmul.d, rne, 0x7ff8000000000000, FFLAGS_NV, 0x7ff0000000000000, 0x0000000000000000)   /* NV: inf * 0 */
    TEST_FP2_RM(49, D, fsub.d, rne, 0x7ff8000000000000, FFLAGS_NV, 0x7ff0000000000000, 0x7ff0000000000000)   /* NV: inf - inf */
    TEST_FP2_RM(50, D, fadd.d, rne, 0x7ff8000000000000, FFLAGS_NV, 0x7ff0000000000000, 0xfff0000000000000)   /* NV: inf + -inf */
    TEST_FP1_RM(51, D, fsqrt.d, rne, 0x7ff8000000000000, FFLAGS_NV, 0xbff0000000000000)   /* NV: sqrt(-1) */
    TEST_FP2_RM(52, D, fdiv.d, rne, 0x7ff8000000000000, FFLAGS_NV, 0x0000000000000000, 0x0000000000000000)   /* NV: 0/0 (not DZ) */
    TEST_FP2_RM(53, D, fdiv.d, rne, 0x7ff8000000000000, FFLAGS_NV, 0x7ff0000000000000, 0x7ff0000000000000)   /* NV: inf/inf */
    TEST_FP3_RM(54, D, fmadd.d, rne, 0x7ff8000000000000, FFLAGS_NV, 0x7ff0000000000000, 0x0000000000000000, 0x7ff8000000000000)   /* NV: inf*0 + qNaN still signals (11.6) */
    TEST_FP2_RM(55, D, fdiv.d, rne, 0x7ff0000000000000, FFLAGS_DZ, 0x3ff0000000000000, 0x0000000000000000)   /* DZ: 1/+0 = +inf */
    TEST_FP2_RM(56, D, fdiv.d, rne, 0xfff0000000000000, FFLAGS_DZ, 0x3ff0000000000000, 0x8000000000000000)   /* DZ: 1/-0 = -inf */
    TEST_FP2_RM(57, D, fdiv.d, rne, 0x7ff0000000000000, 0, 0x7ff0000000000000, 0x0000000000000000)   /* inf/0 = inf, no DZ */
    TEST_FP2_RM(58, D, fmul.d, rne, 0x7ff0000000000000, FFLAGS_OF|FFLAGS_NX, 0x7fefffffffffffff, 0x4000000000000000)   /* OF: max * 2 -> inf */
    TEST_FP2_RM(59, D, fmul.d, rtz, 0x7fefffffffffffff, FFLAGS_OF|FFLAGS_NX, 0x7fefffffffffffff, 0x4000000000000000)   /* OF, RTZ: -> max finite */
    TEST_FP2_RM(60, D, fmul.d, rdn, 0x7fefffffffffffff, FFLAGS_OF|FFLAGS_NX, 0x7fefffffffffffff, 0x4000000000000000)   /* OF, RDN: -> max finite */
    TEST_FP2_RM(61, D, fmul.d, rup, 0x7ff0000000000000, FFLAGS_OF|FFLAGS_NX, 0x7fefffffffffffff, 0x4000000000000000)   /* OF, RUP: -> inf */
    TEST_FP2_RM(62, D, fmul.d, rdn, 0xfff0000000000000, FFLAGS_OF|FFLAGS_NX, 0xffefffffffffffff, 0x4000000000000000)   /* OF, RDN negative: -> -inf */
    TEST_FP2_RM(63, D, fmul.d, rup, 0xffefffffffffffff, FFLAGS_OF|FFLAGS_NX, 0xffefffffffffffff, 0x4000000000000000)   /* OF, RUP negative: -> -max */
    TEST_FP2_RM(64, D, fadd.d, rne, 0x7fefffffffffffff, FFLAGS_NX, 0x7fefffffffffffff, 0x7c80000000000000)   /* max + ulp/4: inexact, no overflow */
    TEST_FP2_RM(65, D, fmul.d, rne, 0x0008000000000000, 0, 0x0010000000000000, 0x3fe0000000000000)   /* exact subnormal result: no UF (UF needs inexact) */
    TEST_FP2_RM(66, D, fmul.d, rne, 0x0000000000000000, FFLAGS_UF|FFLAGS_NX, 0x0000000000000001, 0x3fe0000000000000)   /* UF|NX: min subnormal/2 ties to 0 */
    TEST_FP2_RM(67, D, fmul.d, rup, 0x0000000000000001, FFLAGS_UF|FFLAGS_NX, 0x0000000000000001, 0x3fe0000000000000)   /* UF|NX: rounds up to min subnormal */
    TEST_FP2_RM(68, D, fmul.d, rne, 0x0008000000000000, FFLAGS_UF|FFLAGS_NX, 0x0010000000000001, 0x3fe0000000000000)   /* UF|NX: inexact subnormal */
    TEST_FP2_RM(69, D, fdiv.d, rne, 0x0005555555555555, FFLAGS_UF|FFLAGS_NX, 0x0010000000000000, 0x4008000000000000)   /* UF|NX */
    TEST_FP2_RM(70, D, fmul.d, rne, 0x0010000000000000, FFLAGS_NX, 0x1ffffffffc000000, 0x2000000002000000)   /* (1 - 2^-(p+1)) * 2^emin rounds to min normal: tiny only before rounding, so no UF (11.6: after rounding) */
    TEST_FP2_RM(71, D, fmul.d, rtz, 0x000fffffffffffff, FFLAGS_UF|FFLAGS_NX, 0x1ffffffffc000000, 0x2000000002000000)   /* same product truncated stays subnormal: UF|NX */
    TEST_FP2_RM(72, D, fdiv.d, rne, 0x3fd5555555555555, FFLAGS_NX, 0x3ff0000000000000, 0x4008000000000000)   /* NX only */
    TEST_NUM(73)                     /* flags accumulate until cleared */
    csrwi fflags, 0
    FLOAD_D(fa1, 0x3ff0000000000000)
    FLOAD_D(fa2, 0)
    fdiv.d fa0, fa1, fa2
    FLOAD_D(fa2, 0x4008000000000000)
    fdiv.d fa0, fa1, fa2
    fadd.d fa0, fa1, fa1
    CHECK_FFLAGS(FFLAGS_DZ|FFLAGS_NX)
    /* NaNs: results are the canonical NaN, payloads are not propagated (11.3) */
    TEST_FP2_RM(74, D, fadd.d, rne, 0x7ff8000000000000, 0, 0x7ff8000000012345, 0x3ff0000000000000)   /* quiet NaN with payload: no flag */
    TEST_FP2_RM(75, D, fadd.d, rne, 0x7ff8000000000000, FFLAGS_NV, 0x3ff0000000000000, 0x7ff0000000000001)   /* signaling NaN: NV */
    TEST_FP2_RM(76, D, fmul.d, rne, 0x7ff8000000000000, 0, 0xfff8000000000000, 0x3ff0000000000000)   /* negative NaN in: positive canonical NaN out */
    TEST_FP1_RM(77, D, fsqrt.d, rne, 0x7ff8000000000000, FFLAGS_NV, 0xfff0000000000001)
    TEST_FP3_RM(78, D, fmadd.d, rne, 0x7ff8000000000000, FFLAGS_NV, 0x3ff0000000000000, 0x3ff0000000000000, 0x7ff0000000000001)
    TEST_FP3_RM(79, D, fmadd.d, rne, 0x7ff8000000000000, 0, 0x7ff8000000012345, 0x3ff0000000000000, 0x3ff0000000000000)
    TEST_FP2_RM(80, D, fdiv.d, rne, 0x7ff8000000000000, FFLAGS_NV, 0x7ff0000000000001, 0x0000000000000000)

    /* ---- FMIN.D/FMAX.D (12.6 via 11.6) ---- */
    TEST_FP2(81, D, fmin.d, 0x8000000000000000, 0, 0x8000000000000000, 0x0000000000000000)
    TEST_FP2(82, D, fmin.d, 0x8000000000000000, 0, 0x0000000000000000, 0x8000000000000000)
    TEST_FP2(83, D, fmax.d, 0x0000000000000000, 0, 0x8000000000000000, 0x0000000000000000)
    TEST_FP2(84, D, fmax.d, 0x0000000000000000, 0, 0x0000000000000000, 0x8000000000000000)
    TEST_FP2(85, D, fmin.d, 0x3ff0000000000000, 0, 0x7ff8000000000000, 0x3ff0000000000000)
    TEST_FP2(86, D, fmax.d, 0x3ff0000000000000, 0, 0x3ff0000000000000, 0x7ff8000000012345)
    TEST_FP2(87, D, fmin.d, 0x3ff0000000000000, FFLAGS_NV, 0x7ff0000000000001, 0x3ff0000000000000)
    TEST_FP2(88, D, fmax.d, 0xbff0000000000000, FFLAGS_NV, 0xbff0000000000000, 0xfff0000000000001)
    TEST_FP2(89, D, fmin.d, 0x7ff8000000000000, 0, 0x7ff8000000012345, 0xfff8000000000000)
    TEST_FP2(90, D, fmax.d, 0x7ff8000000000000, FFLAGS_NV, 0x7ff0000000000001, 0x7ff8000000000000)
    TEST_FP2(91, D, fmin.d, 0xfff0000000000000, 0, 0xfff0000000000000, 0x4014000000000000)
    TEST_FP2(92, D, fmax.d, 0x4000000000000000, 0, 0x3ff0000000000000, 0x4000000000000000)

    /* ---- comparisons (12.8 via 11.8) ---- */
    TEST_FCMP(93, D, feq.d, 1, 0, 0x3ff0000000000000, 0x3ff0000000000000)
    TEST_FCMP(94, D, feq.d, 1, 0, 0x8000000000000000, 0x0000000000000000)
    TEST_FCMP(95, D, feq.d, 0, 0, 0x7ff8000000000000, 0x3ff0000000000000)
    TEST_FCMP(96, D, feq.d, 0, FFLAGS_NV, 0x7ff0000000000001, 0x3ff0000000000000)
    TEST_FCMP(97, D, flt.d, 1, 0, 0x3ff0000000000000, 0x3ff0000000000001)
    TEST_FCMP(98, D, flt.d, 0, 0, 0x8000000000000000, 0x0000000000000000)
    TEST_FCMP(99, D, flt.d, 0, FFLAGS_NV, 0x7ff8000000000000, 0x3ff0000000000000)
    TEST_FCMP(100, D, fle.d, 1, 0, 0x8000000000000000, 0x0000000000000000)
    TEST_FCMP(101, D, fle.d, 0, FFLAGS_NV, 0x3ff0000000000000, 0x7ff8000000000000)
    TEST_FCMP(102, D, fle.d, 1, 0, 0xfff0000000000000, 0xffefffffffffffff)

    /* ---- double to integer (12.7 via 11.7, table 11.4) ---- */
    TEST_F2I(103, D, fcvt.w.d, rne, 2, FFLAGS_NX, 0x3ff8000000000000)          /*  1.5 */
    TEST_F2I(104, D, fcvt.w.d, rtz, 1, FFLAGS_NX, 0x3ff8000000000000)
    TEST_F2I(105, D, fcvt.w.d, rdn, -2, FFLAGS_NX, 0xbff8000000000000)        /* -1.5 */
    TEST_F2I(106, D, fcvt.w.d, rup, -1, FFLAGS_NX, 0xbff8000000000000)
    TEST_F2I(107, D, fcvt.w.d, rmm, 3, FFLAGS_NX, 0x4004000000000000)         /*  2.5 */
    TEST_F2I(108, D, fcvt.w.d, rne, 2, FFLAGS_NX, 0x4004000000000000)
    TEST_F2I(109, D, fcvt.w.d, rtz, 0x7fffffff, 0, 0x41dfffffffc00000)        /* 2^31-1 exact */
    TEST_F2I(110, D, fcvt.w.d, rtz, 0x7fffffff, FFLAGS_NV, 0x41e65a0bc0000000) /* 3e9 */
    TEST_F2I(111, D, fcvt.w.d, rtz, 0xffffffff80000000, 0, 0xc1e0000000000000) /* -2^31 */
    TEST_F2I(112, D, fcvt.w.d, rtz, 0xffffffff80000000, FFLAGS_NV, 0xc1e0000000200000) /* -2^31-1 */
    TEST_F2I(113, D, fcvt.w.d, rtz, 0x7fffffff, FFLAGS_NV, 0x7ff8000000000000) /* NaN */
    TEST_F2I(114, D, fcvt.w.d, rtz, 0xffffffff80000000, FFLAGS_NV, 0xfff0000000000000) /* -inf */
    TEST_F2I(115, D, fcvt.wu.d, rtz, 0xffffffffffffffff, 0, 0x41efffffffe00000) /* 2^32-1: sign-extended */
    TEST_F2I(116, D, fcvt.wu.d, rtz, 0xffffffffffffffff, FFLAGS_NV, 0x41f0000000000000) /* 2^32 */
    TEST_F2I(117, D, fcvt.wu.d, rtz, 0, FFLAGS_NX, 0xbfe0000000000000)         /* -0.5 -> 0 */
    TEST_F2I(118, D, fcvt.wu.d, rtz, 0, FFLAGS_NV, 0xbff0000000000000)         /* -1 */
    TEST_F2I(119, D, fcvt.wu.d, rtz, 0xffffffffffffffff, FFLAGS_NV, 0x7ff8000000000000)
    TEST_F2I(120, D, fcvt.l.d, rtz, 0x7fffffffffffffff, FFLAGS_NV, 0x43e0000000000000) /* 2^63 */
    TEST_F2I(121, D, fcvt.l.d, rtz, 0x8000000000000000, 0, 0xc3e0000000000000) /* -2^63 */
    TEST_F2I(122, D, fcvt.l.d, rtz, 0x7fffffffffffffff, FFLAGS_NV, 0x7ff0000000000000)
    TEST_F2I(123, D, fcvt.l.d, rtz, 0x8000000000000000, FFLAGS_NV, 0xfff0000000000000)
    TEST_F2I(124, D, fcvt.l.d, rtz, 0x7fffffffffffffff, FFLAGS_NV, 0xfff8000000000000) /* any NaN */
    TEST_F2I(125, D, fcvt.l.d, rne, -2, FFLAGS_NX, 0xbff8000000000000)
    TEST_F2I(126, D, fcvt.l.d, rtz, 3000000000, 0, 0x41e65a0bc0000000)
    TEST_F2I(127, D, fcvt.lu.d, rtz, 0xfffffffffffff800, 0, 0x43efffffffffffff)
    TEST_F2I(128, D, fcvt.lu.d, rtz, 0xffffffffffffffff, FFLAGS_NV, 0x43f0000000000000) /* 2^64 */
    TEST_F2I(129, D, fcvt.lu.d, rtz, 0, FFLAGS_NV, 0xbff0000000000000)
    TEST_F2I(130, D, fcvt.lu.d, rup, 1, FFLAGS_NX, 0x3fe0000000000000)
    TEST_F2I(131, D, fcvt.lu.d, rtz, 0xffffffffffffffff, FFLAGS_NV, 0x7ff0000000000001)
    fsrmi 4
    TEST_F2I(132, D, fcvt.l.d, dyn, 3, FFLAGS_NX, 0x4004000000000000)          /* frm = rmm */
    fsrmi 0

    /* ---- integer to double (12.7): 32-bit sources are always exact ---- */
    TEST_I2F_EXACT(133, D, fcvt.d.w, 0xc1e0000000000000, 0x80000000)
    TEST_I2F_EXACT(134, D, fcvt.d.w, 0x41dfffffffc00000, 0xffffffff7fffffff)
    TEST_I2F_EXACT(135, D, fcvt.d.wu, 0x41efffffffe00000, 0xffffffffffffffff)
    TEST_I2F_EXACT(136, D, fcvt.d.wu, 0x0000000000000000, 0xffffffff00000000)
    TEST_I2F(137, D, fcvt.d.l, rne, 0x4340000000000000, FFLAGS_NX, 0x20000000000001) /* 2^53+1 */
    TEST_I2F(138, D, fcvt.d.l, rtz, 0x4340000000000000, FFLAGS_NX, 0x20000000000001)
    TEST_I2F(139, D, fcvt.d.l, rup, 0x4340000000000001, FFLAGS_NX, 0x20000000000001)
    TEST_I2F(140, D, fcvt.d.l, rdn, 0xc340000000000001, FFLAGS_NX, -0x20000000000001)
    TEST_I2F(141, D, fcvt.d.l, rmm, 0x4340000000000001, FFLAGS_NX, 0x20000000000001)
    TEST_I2F(142, D, fcvt.d.l, rne, 0xc3e0000000000000, 0, 0x8000000000000000)
    TEST_I2F(143, D, fcvt.d.lu, rne, 0x43f0000000000000, FFLAGS_NX, -1)
    TEST_I2F(144, D, fcvt.d.lu, rtz, 0x43efffffffffffff, FFLAGS_NX, -1)
    TEST_I2F(145, D, fcvt.d.l, rne, 0x0000000000000000, 0, 0)

    /* ---- double <-> single (12.5): FCVT.S.D rounds, FCVT.D.S is exact; NaNs become
     * canonical (sNaN sets NV) ---- */
    TEST_FCVT_RM(146, S, D, fcvt.s.d, rne, 0x3eaaaaab, FFLAGS_NX, 0x3fd5555555555555)
    TEST_FCVT_RM(147, S, D, fcvt.s.d, rtz, 0x3eaaaaaa, FFLAGS_NX, 0x3fd5555555555555)
    TEST_FCVT_RM(148, S, D, fcvt.s.d, rdn, 0xbeaaaaab, FFLAGS_NX, 0xbfd5555555555555)
    TEST_FCVT_RM(149, S, D, fcvt.s.d, rup, 0xbeaaaaaa, FFLAGS_NX, 0xbfd5555555555555)
    TEST_FCVT_RM(150, S, D, fcvt.s.d, rmm, 0x3eaaaaab, FFLAGS_NX, 0x3fd5555555555555)
    TEST_FCVT_RM(151, S, D, fcvt.s.d, rne, 0x3fc00000, 0, 0x3ff8000000000000)
    TEST_FCVT_RM(152, S, D, fcvt.s.d, rne, 0x7f800000, FFLAGS_OF|FFLAGS_NX, 0x7e37e43c8800759c) /* 1e300 */
    TEST_FCVT_RM(153, S, D, fcvt.s.d, rtz, 0x7f7fffff, FFLAGS_OF|FFLAGS_NX, 0x7e37e43c8800759c)
    TEST_FCVT_RM(154, S, D, fcvt.s.d, rdn, 0xff800000, FFLAGS_OF|FFLAGS_NX, 0xfe37e43c8800759c)
    TEST_FCVT_RM(155, S, D, fcvt.s.d, rne, 0x00000000, FFLAGS_UF|FFLAGS_NX, 0x358dee7a4ad4b81f) /* 1e-50 */
    TEST_FCVT_RM(156, S, D, fcvt.s.d, rup, 0x00000001, FFLAGS_UF|FFLAGS_NX, 0x358dee7a4ad4b81f)
    TEST_FCVT_RM(157, S, D, fcvt.s.d, rne, 0x00000001, 0, 0x36a0000000000000)   /* 2^-149 exact */
    TEST_FCVT_RM(158, S, D, fcvt.s.d, rne, 0x7f800000, FFLAGS_OF|FFLAGS_NX, 0x47effffff0000000) /* max+ulp/2 */
    TEST_FCVT_RM(159, S, D, fcvt.s.d, rtz, 0x7f7fffff, FFLAGS_NX, 0x47effffff0000000)
    TEST_FCVT_RM(160, S, D, fcvt.s.d, rne, 0x7fc00000, 0, 0x7ff8000012345678)   /* payload dropped */
    TEST_FCVT_RM(161, S, D, fcvt.s.d, rne, 0x7fc00000, FFLAGS_NV, 0xfff0000000000001)
    TEST_FCVT_RM(162, S, D, fcvt.s.d, rne, 0xff800000, 0, 0xfff0000000000000)
    TEST_FCVT_RM(163, S, D, fcvt.s.d, rne, 0x80000000, 0, 0x8000000000000000)
    TEST_FCVT(164, D, S, fcvt.d.s, 0x36a0000000000000, 0, 0x00000001)  /* subnormal single */
    TEST_FCVT(165, D, S, fcvt.d.s, 0x3fd5555560000000, 0, 0x3eaaaaab)
    TEST_FCVT(166, D, S, fcvt.d.s, 0x7ff8000000000000, FFLAGS_NV, 0x7f800001)
    TEST_FCVT(167, D, S, fcvt.d.s, 0x7ff8000000000000, 0, 0xffc12345)
    TEST_FCVT(168, D, S, fcvt.d.s, 0xfff0000000000000, 0, 0xff800000)
    TEST_FCVT(169, D, S, fcvt.d.s, 0x8000000000000000, 0, 0x80000000)

    /* ---- FCLASS.D (12.7 via 11.9) ---- */
    TEST_FCLASS(170, D, fclass.d, 0x001, 0xfff0000000000000)
    TEST_FCLASS(171, D, fclass.d, 0x002, 0xbff0000000000000)
    TEST_FCLASS(172, D, fclass.d, 0x004, 0x800fffffffffffff)
    TEST_FCLASS(173, D, fclass.d, 0x008, 0x8000000000000000)
    TEST_FCLASS(174, D, fclass.d, 0x010, 0x0000000000000000)
    TEST_FCLASS(175, D, fclass.d, 0x020, 0x0000000000000001)
    TEST_FCLASS(176, D, fclass.d, 0x040, 0x0010000000000000)
    TEST_FCLASS(177, D, fclass.d, 0x080, 0x7ff0000000000000)
    TEST_FCLASS(178, D, fclass.d, 0x100, 0x7ff4000000000000)
    TEST_FCLASS(179, D, fclass.d, 0x200, 0x7ff8000000000000)
    TEST_FCLASS(180, D, fclass.d, 0x200, 0xffffffff3f800000)   /* a boxed single is a qNaN */

    /* ---- moves, sign injection, loads/stores (12.5-12.7): 64-bit transfers, no
     * canonicalization; D operations do not look at NaN boxing ---- */
    TEST_CASE(181, a0, 0x7ff0000000000001, csrwi fflags, 0; li a1, 0x7ff0000000000001; \
              fmv.d.x fa0, a1; fmv.x.d a0, fa0)
    CHECK_FFLAGS(0)
    TEST_FP2(182, D, fsgnj.d, 0xbff0000000000000, 0, 0x3ff0000000000000, 0xc000000000000000)
    TEST_FP2(183, D, fsgnjn.d, 0x3ff0000000000000, 0, 0x3ff0000000000000, 0xc000000000000000)
    TEST_FP2(184, D, fsgnjx.d, 0x3ff0000000000000, 0, 0xbff0000000000000, 0xc000000000000000)
    TEST_FP2(185, D, fsgnjn.d, 0xfff0000000000001, 0, 0x7ff0000000000001, 0x7ff0000000000001)
    TEST_FP2(186, D, fsgnjx.d, 0x7fffffff3f800000, 0, 0xffffffff3f800000, 0xbff0000000000000)
    TEST_CASE(187, a0, 0x3ff0000000000000, FLOAD_D(fa1, 0xbff0000000000000); fabs.d fa0, fa1; fmv.x.d a0, fa0)
    TEST_CASE(188, a0, 0xffffffff3f800000, FLOAD_S(fa1, 0x3f800000); fmv.d fa0, fa1; fmv.x.d a0, fa0)
    TEST_FP2_RM(189, D, fadd.d, rne, 0x7ff8000000000000, 0, 0xffffffff3f800000, 0x3ff0000000000000)
    TEST_CASE(190, a0, 0x123456789abcdef0, la a1, fp_buf; li a2, 0x123456789abcdef0; sd a2, 8(a1); \
              fld fa0, 8(a1); fmv.x.d a0, fa0)
    TEST_CASE(191, a0, 0x7ff4000000000000, la a1, fp_buf + 16; FLOAD_D(fa0, 0x7ff4000000000000); \
              fsd fa0, -16(a1); ld a0, -16(a1))
    TEST_CASE(192, a0, 0xffffffff3f800000, la a1, fp_buf; FLOAD_S(fa0, 0x3f800000); fsd fa0, 0(a1); \
              ld a0, 0(a1))                      /* FSD stores the boxed register as is */
    TEST_CASE(193, a0, 0xffffffff3f800000, la a1, fp_buf; fld fa0, 0(a1); fadd.s fa0, fa0, fa0; \
              FLOAD_S(fa1, 0x3f800000); fsub.s fa0, fa0, fa1; fmv.x.d a0, fa0)  /* (1+1)-1 */

    /* ---- reserved rounding modes apply to D too (11.2) ---- */
    FLOAD_D(fa1, 0x3ff0000000000000)
    FLOAD_D(fa2, 0x4000000000000000)
    fsrmi 5
    TEST_ILLEGAL(194, fdiv.d fa0, fa1, fa2, dyn)
    fsrmi 7
    TEST_ILLEGAL(195, fsqrt.d fa0, fa1, dyn)
    fsrmi 0
    TEST_ILLEGAL(196, .insn r OP_FP, 6, 1, fa0, fa1, fa2)    /* fadd.d, rm = 6 */

TEST_END

    .data
    .align 4
fp_buf:
    .dword 0, 0, 0, 0
