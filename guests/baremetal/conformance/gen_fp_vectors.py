#!/usr/bin/env python3
"""Generates fp_vectors_s.S, fp_vectors_d.S and fp_vectors_cvt.S: F/D operations on
awkward operands in every rounding mode, with expected results and flags computed here with exact rational
arithmetic (IEEE 754-2008 as RISC-V specifies it: tininess detected after rounding,
canonical NaN results, invalid for the signaling cases of chapter 11).

Run from this directory: python3 gen_fp_vectors.py
The generated files are committed; this script is how they were made.
"""

from fractions import Fraction as Q
import math
import struct

FMT = {"s": (8, 23), "d": (11, 52)}
NX, UF, OF, DZ, NV = 1, 2, 4, 8, 16
CNAN = {"s": 0x7FC00000, "d": 0x7FF8000000000000}
RMS = ["rne", "rtz", "rdn", "rup", "rmm"]


# ---- the model ----------------------------------------------------------------------

def decode(bits, f):
    """('inf'|'snan'|'qnan', sign) or (Fraction value, sign)."""
    e, m = FMT[f]
    bias = (1 << (e - 1)) - 1
    sign = bits >> (e + m) & 1
    exp = bits >> m & ((1 << e) - 1)
    man = bits & ((1 << m) - 1)
    if exp == (1 << e) - 1:
        if man == 0:
            return ("inf", sign)
        return ("snan" if not (man >> (m - 1)) & 1 else "qnan", sign)
    if exp == 0:
        v = Q(man, 1 << (m + bias - 1))
    else:
        v = Q((1 << m) | man) * Q(2) ** (exp - bias - m)
    return (-v if sign else v, sign)


def inf(sign, f):
    e, m = FMT[f]
    return (sign << (e + m)) | (((1 << e) - 1) << m)


def max_finite(sign, f):
    e, m = FMT[f]
    return (sign << (e + m)) | (((1 << e) - 2) << m) | ((1 << m) - 1)


def round_up(rem_num, rem_den, rm, sign, odd):
    """Whether to add one unit, given a nonzero remainder rem in (0, 1)."""
    half = 2 * rem_num - rem_den
    return {
        "rne": half > 0 or (half == 0 and odd),
        "rmm": half >= 0,
        "rtz": False,
        "rdn": sign == 1,
        "rup": sign == 0,
    }[rm]


def quantize(a, quantum, rm, sign):
    q = a / quantum
    qi = q.numerator // q.denominator
    r = q - qi
    if r and round_up(r.numerator, r.denominator, rm, sign, qi & 1):
        qi += 1
    return qi, r != 0


def round_to(v, zero_sign, f, rm):
    """Round the exact value v to format f: (bits, flags)."""
    e, m = FMT[f]
    bias = (1 << (e - 1)) - 1
    if v == 0:
        return (zero_sign << (e + m), 0)
    sign = 1 if v < 0 else 0
    a = abs(v)
    E = a.numerator.bit_length() - a.denominator.bit_length()
    if Q(2) ** E > a:
        E -= 1
    emin = 1 - bias
    # with an unbounded exponent (for overflow and for tininess after rounding)
    qr, inexact = quantize(a, Q(2) ** (E - m), rm, sign)
    Eu = E
    if qr == 1 << (m + 1):
        qr >>= 1
        Eu += 1
    if Eu > bias:
        flags = OF | NX
        if rm in ("rne", "rmm") or (rm == "rup" and sign == 0) or (rm == "rdn" and sign == 1):
            return (inf(sign, f), flags)
        return (max_finite(sign, f), flags)
    if E >= emin:
        return ((sign << (e + m)) | ((Eu + bias) << m) | (qr & ((1 << m) - 1)), NX if inexact else 0)
    tiny = Eu < emin
    qs, inexact = quantize(a, Q(2) ** (emin - m), rm, sign)
    flags = (NX if inexact else 0) | (UF if tiny and inexact else 0)
    return ((sign << (e + m)) | qs, flags)


def isnan(x):
    return x[0] in ("snan", "qnan")


def arith(op, f, rm, *bits):
    xs = [decode(b, f) for b in bits]
    nv = NV if any(x[0] == "snan" for x in xs) else 0
    if op == "fma":
        a, b, c = xs
        if (a[0] == "inf" and b[0] == 0) or (b[0] == "inf" and a[0] == 0):
            return (CNAN[f], NV)
        if isnan(a) or isnan(b) or isnan(c):
            return (CNAN[f], nv)
        ps = a[1] ^ b[1]
        if a[0] == "inf" or b[0] == "inf":
            if c[0] == "inf" and c[1] != ps:
                return (CNAN[f], NV)
            return (inf(ps, f), 0)
        if c[0] == "inf":
            return (inf(c[1], f), 0)
        p = a[0] * b[0]
        s = p + c[0]
        if s == 0:
            zs = ps if (p == 0 and c[0] == 0 and ps == c[1]) else (1 if rm == "rdn" else 0)
            return round_to(Q(0), zs, f, rm)
        return round_to(s, 0, f, rm)
    if op == "sqrt":
        (a,) = xs
        if isnan(a):
            return (CNAN[f], nv)
        if a[0] == 0:
            return (a[1] << (sum(FMT[f])), 0)
        if a[1] == 1:
            return (CNAN[f], NV)
        if a[0] == "inf":
            return (inf(0, f), 0)
        v = a[0]
        k = 0
        while v < Q(2) ** 200:
            v *= 4
            k += 1
        while v >= Q(2) ** 202:
            v /= 4
            k -= 1
        scaled = v * Q(4) ** 100
        n = scaled.numerator // scaled.denominator
        r = math.isqrt(n)
        exact = r * r == n and scaled.denominator == 1
        val = Q(r, 2 ** 100)
        if not exact:
            val += Q(1, 3 * 2 ** 100)   # strictly between r and r+1 units: sticky
        return round_to(val / Q(2) ** k, 0, f, rm)
    a, b = xs
    if isnan(a) or isnan(b):
        return (CNAN[f], nv)
    if op == "sub":
        b = ("inf", 1 - b[1]) if b[0] == "inf" else (-b[0], 1 - b[1])
        op = "add"
    if op == "add":
        if a[0] == "inf" and b[0] == "inf":
            return (CNAN[f], NV) if a[1] != b[1] else (inf(a[1], f), 0)
        if a[0] == "inf":
            return (inf(a[1], f), 0)
        if b[0] == "inf":
            return (inf(b[1], f), 0)
        s = a[0] + b[0]
        if s == 0:
            zs = a[1] if (a[0] == 0 and b[0] == 0 and a[1] == b[1]) else (1 if rm == "rdn" else 0)
            return round_to(Q(0), zs, f, rm)
        return round_to(s, 0, f, rm)
    sign = a[1] ^ b[1]
    if op == "mul":
        if (a[0] == "inf" and b[0] == 0) or (b[0] == "inf" and a[0] == 0):
            return (CNAN[f], NV)
        if a[0] == "inf" or b[0] == "inf":
            return (inf(sign, f), 0)
        return round_to(a[0] * b[0], sign, f, rm)
    if op == "div":
        if (a[0] == "inf" and b[0] == "inf") or (a[0] == 0 and b[0] == 0):
            return (CNAN[f], NV)
        if a[0] == "inf":
            return (inf(sign, f), 0)
        if b[0] == "inf":
            return round_to(Q(0), sign, f, rm)
        if b[0] == 0:
            return (inf(sign, f), DZ)
        return round_to(a[0] / b[0], sign, f, rm)
    raise ValueError(op)


def to_int(f, rm, bits, width, signed):
    """FCVT.{W,WU,L,LU}: (integer result as XLEN=64 bits, flags); table 11.4."""
    x = decode(bits, f)
    lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    if isnan(x) or (x[0] == "inf" and x[1] == 0):
        r, fl = hi, NV
    elif x[0] == "inf":
        r, fl = lo, NV
    else:
        v = x[0]
        sign = 1 if v < 0 else 0
        qi, inexact = quantize(abs(v), Q(1), rm, sign)
        r = -qi if sign else qi
        if r < lo:
            r, fl = lo, NV
        elif r > hi:
            r, fl = hi, NV
        else:
            fl = NX if inexact else 0
    r &= (1 << width) - 1
    if width == 32 and r >> 31:        # 32-bit results are sign-extended
        r |= 0xFFFFFFFF00000000
    return r & 0xFFFFFFFFFFFFFFFF, fl


def minmax(f, op, a, b):
    xa, xb = decode(a, f), decode(b, f)
    nv = NV if xa[0] == "snan" or xb[0] == "snan" else 0
    if isnan(xa) and isnan(xb):
        return CNAN[f], nv
    if isnan(xa):
        return b, nv
    if isnan(xb):
        return a, nv
    va = xa[0] if xa[0] != "inf" else (Q(-1) if xa[1] else Q(1)) * Q(10) ** 400
    vb = xb[0] if xb[0] != "inf" else (Q(-1) if xb[1] else Q(1)) * Q(10) ** 400
    if va == vb:    # equal values: only +0 / -0 differ
        pick_a = (xa[1] == 1) if op == "min" else (xa[1] == 0)
        return (a if pick_a else b), 0
    if op == "min":
        return (a if va < vb else b), 0
    return (a if va > vb else b), 0


def compare(f, op, a, b):
    xa, xb = decode(a, f), decode(b, f)
    if isnan(xa) or isnan(xb):
        signaling = xa[0] == "snan" or xb[0] == "snan"
        return 0, NV if (op != "eq" or signaling) else 0
    va = xa[0] if xa[0] != "inf" else (Q(-1) if xa[1] else Q(1)) * Q(10) ** 400
    vb = xb[0] if xb[0] != "inf" else (Q(-1) if xb[1] else Q(1)) * Q(10) ** 400
    return int({"eq": va == vb, "lt": va < vb, "le": va <= vb}[op]), 0


# ---- operands ---------------------------------------------------------------------

def bits_of(x, f):
    return struct.unpack("<I", struct.pack("<f", x))[0] if f == "s" else struct.unpack("<Q", struct.pack("<d", x))[0]


def operands(f):
    e, m = FMT[f]
    S = 1 << (e + m)
    one = bits_of(1.0, f)
    vals = [
        0, S,                                  # +0, -0
        1, S | 1,                              # smallest subnormals
        (1 << m) - 1,                          # largest subnormal
        1 << m, S | (1 << m),                  # smallest normals
        (1 << m) | 1,
        one, one | S, one + 1, one - 1,        # 1, -1, 1+ulp, 1-ulp/2
        bits_of(1.5, f), bits_of(-2.5, f), bits_of(3.0, f), bits_of(0.1, f),
        bits_of(1 / 3, f), bits_of(-7.25e-3, f), bits_of(65504.0, f), bits_of(-1e10, f),
        max_finite(0, f), max_finite(1, f), max_finite(0, f) - 1,
        inf(0, f), inf(1, f), CNAN[f], inf(0, f) | 1,   # qNaN, sNaN
    ]
    return vals


class Lcg:
    """A small deterministic generator, so that the vectors never change."""

    def __init__(self, seed):
        self.x = seed

    def next(self, n):
        self.x = (self.x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        return (self.x >> 33) % n


# ---- emitting ---------------------------------------------------------------------

FL_NAMES = ((NV, "NV"), (DZ, "DZ"), (OF, "OF"), (UF, "UF"), (NX, "NX"))


def flags_expr(fl):
    names = ["FFLAGS_" + n for b, n in FL_NAMES if fl & b]
    return "|".join(names) or "0"


def hexw(v, f):
    return ("0x%08x" if f == "s" else "0x%016x") % v


def generate(f):
    P = f.upper()
    ops = operands(f)
    rng = Lcg(0x5EED + (0 if f == "s" else 1))
    lines = []
    n = 0

    def num():
        nonlocal n
        n += 1
        return n

    def pick():
        return ops[rng.next(len(ops))]

    # two-operand arithmetic: 30 cases per operation, rounding mode cycling
    for op in ("add", "sub", "mul", "div"):
        lines.append(f"    /* f{op}.{f} */")
        for i in range(30):
            a, b = pick(), pick()
            rm = RMS[i % 5]
            res, fl = arith(op, f, rm, a, b)
            lines.append(f"    TEST_FP2_RM({num()}, {P}, f{op}.{f}, {rm}, {hexw(res, f)}, {flags_expr(fl)}, {hexw(a, f)}, {hexw(b, f)})")
    lines.append(f"    /* fsqrt.{f} */")
    for i in range(20):
        a = pick()
        rm = RMS[i % 5]
        res, fl = arith("sqrt", f, rm, a)
        lines.append(f"    TEST_FP1_RM({num()}, {P}, fsqrt.{f}, {rm}, {hexw(res, f)}, {flags_expr(fl)}, {hexw(a, f)})")
    sign = 1 << sum(FMT[f])
    for name in ("fmadd", "fmsub", "fnmsub", "fnmadd"):
        lines.append(f"    /* {name}.{f} */")
        for i in range(10):
            a, b, c = pick(), pick(), pick()
            rm = RMS[i % 5]
            aa = a ^ sign if name in ("fnmsub", "fnmadd") else a
            cc = c ^ sign if name in ("fmsub", "fnmadd") else c
            res, fl = arith("fma", f, rm, aa, b, cc)
            lines.append(f"    TEST_FP3_RM({num()}, {P}, {name}.{f}, {rm}, {hexw(res, f)}, {flags_expr(fl)}, {hexw(a, f)}, {hexw(b, f)}, {hexw(c, f)})")
    for w, sg, mn in ((32, True, "w"), (32, False, "wu"), (64, True, "l"), (64, False, "lu")):
        lines.append(f"    /* fcvt.{mn}.{f} */")
        for i in range(10):
            a = pick()
            rm = RMS[i % 5]
            res, fl = to_int(f, rm, a, w, sg)
            lines.append(f"    TEST_F2I({num()}, {P}, fcvt.{mn}.{f}, {rm}, 0x{res:016x}, {flags_expr(fl)}, {hexw(a, f)})")
    for op in ("min", "max"):
        lines.append(f"    /* f{op}.{f} */")
        for i in range(6):
            a, b = pick(), pick()
            res, fl = minmax(f, op, a, b)
            lines.append(f"    TEST_FP2({num()}, {P}, f{op}.{f}, {hexw(res, f)}, {flags_expr(fl)}, {hexw(a, f)}, {hexw(b, f)})")
    for op in ("eq", "lt", "le"):
        lines.append(f"    /* f{op}.{f} */")
        for i in range(6):
            a, b = pick(), pick()
            res, fl = compare(f, op, a, b)
            lines.append(f"    TEST_FCMP({num()}, {P}, f{op}.{f}, {res}, {flags_expr(fl)}, {hexw(a, f)}, {hexw(b, f)})")
    assert n <= 254, n
    return lines, n


def generate_cvt():
    """FCVT between integers and floats, and between the two precisions."""
    rng = Lcg(0xC0417)
    lines = []
    n = 0

    def num():
        nonlocal n
        n += 1
        return n

    ints = [0, 1, 0xFFFFFFFFFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000001,
            0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0x20000000000001, 0xFFFFFFFFFFFFF801,
            16777217, 0x123456789ABCDEF1, 0xFFFFFFFF80000001, 0x00000000FFFFFF81, 3]
    for f in ("s", "d"):
        P = f.upper()
        for mn, w, sg in (("w", 32, True), ("wu", 32, False), ("l", 64, True), ("lu", 64, False)):
            lines.append(f"    /* fcvt.{f}.{mn} */")
            exact = f == "d" and w == 32
            for i in range(12 if not exact else 8):
                x = ints[rng.next(len(ints))]
                v = x & ((1 << w) - 1)
                if sg and v >> (w - 1):
                    v -= 1 << w
                rm = RMS[i % 5]
                res, fl = round_to(Q(v), 0, f, rm)
                if exact:
                    lines.append(f"    TEST_I2F_EXACT({num()}, {P}, fcvt.{f}.{mn}, {hexw(res, f)}, 0x{x:016x})")
                else:
                    lines.append(f"    TEST_I2F({num()}, {P}, fcvt.{f}.{mn}, {rm}, {hexw(res, f)}, {flags_expr(fl)}, 0x{x:016x})")
    lines.append("    /* fcvt.s.d */")
    dops = operands("d") + [bits_of(3.4028235677973366e38, "d"), bits_of(1.1754942807573643e-38, "d"),
                            bits_of(1.401298464324817e-45 * 1.5, "d"), bits_of(-0.7e-45, "d"),
                            bits_of(1e300, "d"), bits_of(-1e-300, "d"), bits_of(16777217.0, "d")]
    for i in range(40):
        a = dops[rng.next(len(dops))]
        rm = RMS[i % 5]
        x = decode(a, "d")
        if isnan(x):
            res, fl = CNAN["s"], NV if x[0] == "snan" else 0
        elif x[0] == "inf":
            res, fl = inf(x[1], "s"), 0
        else:
            res, fl = round_to(x[0], x[1], "s", rm)
        lines.append(f"    TEST_FCVT_RM({num()}, S, D, fcvt.s.d, {rm}, {hexw(res, 's')}, {flags_expr(fl)}, {hexw(a, 'd')})")
    lines.append("    /* fcvt.d.s (exact) */")
    sops = operands("s")
    for i in range(20):
        a = sops[rng.next(len(sops))]
        x = decode(a, "s")
        if isnan(x):
            res, fl = CNAN["d"], NV if x[0] == "snan" else 0
        elif x[0] == "inf":
            res, fl = inf(x[1], "d"), 0
        else:
            res, fl = round_to(x[0], x[1], "d", "rne")
            assert fl == 0
        lines.append(f"    TEST_FCVT({num()}, D, S, fcvt.d.s, {hexw(res, 'd')}, {flags_expr(fl)}, {hexw(a, 's')})")
    assert n <= 254, n
    return lines, n


HEADER = """/* GENERATED by gen_fp_vectors.py - do not edit; change the script and rerun it.
 *
 * {name} on awkward operands ({what}): signed zeros, subnormals, the
 * smallest and largest normals, values next to 1, infinities, quiet and signaling
 * NaNs, and a few ordinary numbers, drawn by a fixed pseudo-random sequence; the
 * rounding mode cycles through RNE, RTZ, RDN, RUP, RMM. Each check compares the whole
 * result register (NaN-boxed for single precision) and the exact fflags.
 * Expected values come from exact rational arithmetic in the script (unprivileged spec
 * chapters 11 and 12: tininess after rounding, canonical NaNs, invalid on signaling
 * NaNs and on the invalid cases of FCVT (table 11.4), FMIN/FMAX and FLT/FLE).
 * {count} checks.
 */
#include "test_macros.h"

TEST_BEGIN
"""


def main():
    for f, name, what in (("s", "F single-precision operations", "binary32"),
                          ("d", "D double-precision operations", "binary64")):
        lines, count = generate(f)
        text = HEADER.format(name=name, what=what, count=count) + "\n".join(lines) + "\nTEST_END\n"
        with open(f"fp_vectors_{f}.S", "w") as out:
            out.write(text)
    lines, count = generate_cvt()
    text = HEADER.format(name="FCVT between integers and floats and between precisions",
                         what="integers at the edges of each width; doubles near the "
                              "single-precision limits", count=count)
    with open("fp_vectors_cvt.S", "w") as out:
        out.write(text + "\n".join(lines) + "\nTEST_END\n")


if __name__ == "__main__":
    main()
