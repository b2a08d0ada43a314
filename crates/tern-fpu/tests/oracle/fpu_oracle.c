/*
 * fpu_oracle: runs real RISC-V F/D instructions and prints their results and fflags,
 * so that tern-fpu can be compared with QEMU's softfloat (tests/qemu_oracle.rs runs it
 * under qemu-riscv64).
 *
 * Input, one operation per line:   OP RM A B C
 *   OP   an instruction name such as fadd.s, fcvt.wu.d, fnmsub.d
 *   RM   the static rounding mode 0..4 (rne rtz rdn rup rmm); ignored by ops without one
 *   A B C operands in hex: float bit patterns or integer values (unused ones are 0)
 * Output, one line per input line: RESULT FLAGS (hex). RESULT is the destination
 * register: a float result's bit pattern (single results are masked to 32 bits), or
 * the 64-bit integer register (fcvt.w[u] results are sign-extended as the ISA says).
 * A line that cannot be parsed prints "error".
 *
 * Build: riscv64-linux-gnu-gcc -static -O2 -o fpu_oracle fpu_oracle.c
 */
#include <stdio.h>
#include <string.h>

typedef unsigned long long u64;

/* Moves between integer registers and ft registers. fmv.w.x NaN-boxes the single. */
#define MVIN_s "fmv.w.x"
#define MVIN_d "fmv.d.x"
#define MVOUT_s "fmv.x.w"
#define MVOUT_d "fmv.x.d"
#define MASK_s 0xffffffffULL
#define MASK_d 0xffffffffffffffffULL

/* Each family clears fflags, runs one instruction and reads fflags, all inside one asm
 * statement so the compiler cannot move anything in between. */
#define F1R(R, INSN, T)                                                               \
    asm volatile(MVIN_##T " ft1, %2\n\tfsflags zero\n\t" INSN " ft0, ft1, " R          \
                 "\n\tfrflags %1\n\t" MVOUT_##T " %0, ft0"                            \
                 : "=&r"(res), "=&r"(fl) : "r"(a) : "ft0", "ft1");                    \
    res &= MASK_##T

#define F2R(R, INSN, T)                                                               \
    asm volatile(MVIN_##T " ft1, %2\n\t" MVIN_##T " ft2, %3\n\tfsflags zero\n\t" INSN  \
                 " ft0, ft1, ft2, " R "\n\tfrflags %1\n\t" MVOUT_##T " %0, ft0"       \
                 : "=&r"(res), "=&r"(fl) : "r"(a), "r"(b) : "ft0", "ft1", "ft2");     \
    res &= MASK_##T

#define F3R(R, INSN, T)                                                               \
    asm volatile(MVIN_##T " ft1, %2\n\t" MVIN_##T " ft2, %3\n\t" MVIN_##T              \
                 " ft3, %4\n\tfsflags zero\n\t" INSN " ft0, ft1, ft2, ft3, " R         \
                 "\n\tfrflags %1\n\t" MVOUT_##T " %0, ft0"                            \
                 : "=&r"(res), "=&r"(fl) : "r"(a), "r"(b), "r"(c)                     \
                 : "ft0", "ft1", "ft2", "ft3");                                       \
    res &= MASK_##T

#define F2(INSN, T)                                                                   \
    asm volatile(MVIN_##T " ft1, %2\n\t" MVIN_##T " ft2, %3\n\tfsflags zero\n\t" INSN  \
                 " ft0, ft1, ft2\n\tfrflags %1\n\t" MVOUT_##T " %0, ft0"              \
                 : "=&r"(res), "=&r"(fl) : "r"(a), "r"(b) : "ft0", "ft1", "ft2");     \
    res &= MASK_##T

#define CMP(INSN, T)                                                                  \
    asm volatile(MVIN_##T " ft1, %2\n\t" MVIN_##T " ft2, %3\n\tfsflags zero\n\t" INSN  \
                 " %0, ft1, ft2\n\tfrflags %1"                                        \
                 : "=&r"(res), "=&r"(fl) : "r"(a), "r"(b) : "ft1", "ft2")

#define CLASS(INSN, T)                                                                \
    asm volatile(MVIN_##T " ft1, %2\n\tfsflags zero\n\t" INSN " %0, ft1\n\tfrflags %1" \
                 : "=&r"(res), "=&r"(fl) : "r"(a) : "ft1")

#define TOI(R, INSN, T)                                                               \
    asm volatile(MVIN_##T " ft1, %2\n\tfsflags zero\n\t" INSN " %0, ft1, " R           \
                 "\n\tfrflags %1"                                                     \
                 : "=&r"(res), "=&r"(fl) : "r"(a) : "ft1")

#define FROMI(R, INSN, T)                                                             \
    asm volatile("fsflags zero\n\t" INSN " ft0, %2, " R "\n\tfrflags %1\n\t" MVOUT_##T  \
                 " %0, ft0"                                                           \
                 : "=&r"(res), "=&r"(fl) : "r"(a) : "ft0");                           \
    res &= MASK_##T

/* fcvt.d.w and fcvt.d.wu are exact; the assembler takes no rounding mode for them. */
#define FROMI_EXACT(INSN, T)                                                          \
    asm volatile("fsflags zero\n\t" INSN " ft0, %2\n\tfrflags %1\n\t" MVOUT_##T          \
                 " %0, ft0"                                                           \
                 : "=&r"(res), "=&r"(fl) : "r"(a) : "ft0");                           \
    res &= MASK_##T

/* fcvt.d.s is exact and takes no rounding mode. */
#define WIDEN()                                                                       \
    asm volatile("fmv.w.x ft1, %2\n\tfsflags zero\n\tfcvt.d.s ft0, ft1\n\tfrflags %1\n\t" \
                 "fmv.x.d %0, ft0"                                                    \
                 : "=&r"(res), "=&r"(fl) : "r"(a) : "ft0", "ft1")

#define NARROW(R, T)                                                                  \
    asm volatile("fmv.d.x ft1, %2\n\tfsflags zero\n\tfcvt.s.d ft0, ft1, " R             \
                 "\n\tfrflags %1\n\tfmv.x.w %0, ft0"                                  \
                 : "=&r"(res), "=&r"(fl) : "r"(a) : "ft0", "ft1");                    \
    res &= MASK_s

/* Expands M once per static rounding mode, selected by the run-time value rm. */
#define RMSW(M, ...)                                                                  \
    switch (rm) {                                                                     \
    case 0: { M("rne", __VA_ARGS__); } break;                                         \
    case 1: { M("rtz", __VA_ARGS__); } break;                                         \
    case 2: { M("rdn", __VA_ARGS__); } break;                                         \
    case 3: { M("rup", __VA_ARGS__); } break;                                         \
    default: { M("rmm", __VA_ARGS__); } break;                                        \
    }

/* The list of operations: X(name, statement). */
#define OPS(X)                                                                        \
    X("fadd.s", RMSW(F2R, "fadd.s", s))                                               \
    X("fsub.s", RMSW(F2R, "fsub.s", s))                                               \
    X("fmul.s", RMSW(F2R, "fmul.s", s))                                               \
    X("fdiv.s", RMSW(F2R, "fdiv.s", s))                                               \
    X("fsqrt.s", RMSW(F1R, "fsqrt.s", s))                                             \
    X("fmadd.s", RMSW(F3R, "fmadd.s", s))                                             \
    X("fmsub.s", RMSW(F3R, "fmsub.s", s))                                             \
    X("fnmsub.s", RMSW(F3R, "fnmsub.s", s))                                           \
    X("fnmadd.s", RMSW(F3R, "fnmadd.s", s))                                           \
    X("fmin.s", F2("fmin.s", s))                                                      \
    X("fmax.s", F2("fmax.s", s))                                                      \
    X("feq.s", CMP("feq.s", s))                                                       \
    X("flt.s", CMP("flt.s", s))                                                       \
    X("fle.s", CMP("fle.s", s))                                                       \
    X("fclass.s", CLASS("fclass.s", s))                                               \
    X("fcvt.w.s", RMSW(TOI, "fcvt.w.s", s))                                           \
    X("fcvt.wu.s", RMSW(TOI, "fcvt.wu.s", s))                                         \
    X("fcvt.l.s", RMSW(TOI, "fcvt.l.s", s))                                           \
    X("fcvt.lu.s", RMSW(TOI, "fcvt.lu.s", s))                                         \
    X("fcvt.s.w", RMSW(FROMI, "fcvt.s.w", s))                                         \
    X("fcvt.s.wu", RMSW(FROMI, "fcvt.s.wu", s))                                       \
    X("fcvt.s.l", RMSW(FROMI, "fcvt.s.l", s))                                         \
    X("fcvt.s.lu", RMSW(FROMI, "fcvt.s.lu", s))                                       \
    X("fadd.d", RMSW(F2R, "fadd.d", d))                                               \
    X("fsub.d", RMSW(F2R, "fsub.d", d))                                               \
    X("fmul.d", RMSW(F2R, "fmul.d", d))                                               \
    X("fdiv.d", RMSW(F2R, "fdiv.d", d))                                               \
    X("fsqrt.d", RMSW(F1R, "fsqrt.d", d))                                             \
    X("fmadd.d", RMSW(F3R, "fmadd.d", d))                                             \
    X("fmsub.d", RMSW(F3R, "fmsub.d", d))                                             \
    X("fnmsub.d", RMSW(F3R, "fnmsub.d", d))                                           \
    X("fnmadd.d", RMSW(F3R, "fnmadd.d", d))                                           \
    X("fmin.d", F2("fmin.d", d))                                                      \
    X("fmax.d", F2("fmax.d", d))                                                      \
    X("feq.d", CMP("feq.d", d))                                                       \
    X("flt.d", CMP("flt.d", d))                                                       \
    X("fle.d", CMP("fle.d", d))                                                       \
    X("fclass.d", CLASS("fclass.d", d))                                               \
    X("fcvt.w.d", RMSW(TOI, "fcvt.w.d", d))                                           \
    X("fcvt.wu.d", RMSW(TOI, "fcvt.wu.d", d))                                         \
    X("fcvt.l.d", RMSW(TOI, "fcvt.l.d", d))                                           \
    X("fcvt.lu.d", RMSW(TOI, "fcvt.lu.d", d))                                         \
    X("fcvt.d.w", FROMI_EXACT("fcvt.d.w", d))                                         \
    X("fcvt.d.wu", FROMI_EXACT("fcvt.d.wu", d))                                       \
    X("fcvt.d.l", RMSW(FROMI, "fcvt.d.l", d))                                         \
    X("fcvt.d.lu", RMSW(FROMI, "fcvt.d.lu", d))                                       \
    X("fcvt.d.s", WIDEN())                                                            \
    X("fcvt.s.d", RMSW(NARROW, s))

#define NAME(name, stmt) name,
static const char *const names[] = {OPS(NAME)};
#define COUNT (sizeof names / sizeof names[0])

/* Runs operation number op; returns 0 if op is out of range. */
static int run(unsigned op, unsigned rm, u64 a, u64 b, u64 c, u64 *out, u64 *flags) {
    u64 res = 0, fl = 0;
    unsigned i = 0;
#define CASE(name, stmt)                                                              \
    if (op == i++) {                                                                  \
        stmt;                                                                         \
        *out = res;                                                                   \
        *flags = fl;                                                                  \
        return 1;                                                                     \
    }
    OPS(CASE)
    (void)b;
    (void)c;
    return 0;
}

int main(void) {
    static char inbuf[1 << 16], outbuf[1 << 16];
    char line[256], op[32];
    setvbuf(stdin, inbuf, _IOFBF, sizeof inbuf);
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    while (fgets(line, sizeof line, stdin)) {
        unsigned rm;
        u64 a, b, c, res, fl;
        unsigned i;
        if (sscanf(line, "%31s %u %llx %llx %llx", op, &rm, &a, &b, &c) != 5) {
            puts("error");
            continue;
        }
        for (i = 0; i < COUNT; i++)
            if (strcmp(op, names[i]) == 0)
                break;
        if (rm > 4 || !run(i, rm, a, b, c, &res, &fl)) {
            puts("error");
            continue;
        }
        printf("%llx %llx\n", res, fl);
    }
    return 0;
}
