/* interp: a switch-dispatch bytecode interpreter (a tiny stack VM).
 *
 * The VM's loop reads an opcode and jumps through a `switch` jump table: one indirect
 * jump per bytecode, to one of ~25 targets, from one site. That is the pattern of
 * every interpreter (Python, Lua, a JavaScript baseline) and the hardest case for an
 * emulator's indirect-jump handling. Two bytecode programs run on it: counting the
 * primes below LIMIT by trial division, and the total number of Collatz steps of
 * 1..COLLATZ_N.
 *
 * Checks: the prime count against pi(LIMIT), the Collatz total against the same
 * computation in C, and the checksum against a reference (same value from a host
 * build of this file). */
#include "bench.h"

#ifndef ROUNDS
#define ROUNDS 2
#endif
#define LIMIT 100000 /* pi(100000) = 9592 */
#define PRIMES_BELOW_LIMIT 9592
#define COLLATZ_N 15000
#ifndef EXPECTED
#define EXPECTED 0x0028ac7b709f2578ULL /* QEMU 7.2 and a host build agree */
#endif

enum op {
    OP_HALT,
    OP_PUSH,  /* imm: push imm */
    OP_LOAD,  /* slot: push local[slot] */
    OP_STORE, /* slot: local[slot] = pop */
    OP_ADDI,  /* slot imm: local[slot] += imm (no stack traffic) */
    OP_DUP,
    OP_DROP,
    OP_SWAP,
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_MOD,
    OP_AND,
    OP_OR,
    OP_XOR,
    OP_SHL,
    OP_SHR,
    OP_LT,
    OP_LE,
    OP_EQ,
    OP_NOT,
    OP_JMP, /* target */
    OP_JZ,  /* target: jump if pop == 0 */
    OP_JNZ, /* target: jump if pop != 0 */
};

/* ---- a small assembler with forward labels ---- */

#define CODE_MAX 512
#define LABELS 16
static int32_t code[CODE_MAX];
static int code_len;
static int label_pos[LABELS];
static int fixup_at[64], fixup_label[64], fixups;

static void emit(int32_t w) { code[code_len++] = w; }
static void op0(enum op o) { emit(o); }
static void op1(enum op o, int32_t a) { emit(o); emit(a); }
static void addi(int slot, int32_t imm) { emit(OP_ADDI); emit(slot); emit(imm); }
static void jump(enum op o, int label)
{
    emit(o);
    fixup_at[fixups] = code_len;
    fixup_label[fixups++] = label;
    emit(0);
}
static void label(int l) { label_pos[l] = code_len; }
static void assemble_begin(void) { code_len = 0; fixups = 0; }
static void assemble_end(void)
{
    for (int i = 0; i < fixups; i++)
        code[fixup_at[i]] = label_pos[fixup_label[i]];
}

/* ---- the VM ---- */

static int64_t run(const int32_t *pc0, int64_t *local)
{
    int64_t stack[64];
    int64_t *sp = stack; /* points past the top */
    const int32_t *pc = pc0;
    for (;;) {
        switch ((enum op)*pc++) {
        case OP_HALT:
            return sp > stack ? sp[-1] : 0;
        case OP_PUSH: *sp++ = *pc++; break;
        case OP_LOAD: *sp++ = local[*pc++]; break;
        case OP_STORE: local[*pc++] = *--sp; break;
        case OP_ADDI: local[pc[0]] += pc[1]; pc += 2; break;
        case OP_DUP: sp[0] = sp[-1]; sp++; break;
        case OP_DROP: sp--; break;
        case OP_SWAP: { int64_t t = sp[-1]; sp[-1] = sp[-2]; sp[-2] = t; break; }
        case OP_ADD: sp--; sp[-1] += sp[0]; break;
        case OP_SUB: sp--; sp[-1] -= sp[0]; break;
        case OP_MUL: sp--; sp[-1] *= sp[0]; break;
        case OP_DIV: sp--; sp[-1] = sp[0] ? sp[-1] / sp[0] : 0; break;
        case OP_MOD: sp--; sp[-1] = sp[0] ? sp[-1] % sp[0] : 0; break;
        case OP_AND: sp--; sp[-1] &= sp[0]; break;
        case OP_OR: sp--; sp[-1] |= sp[0]; break;
        case OP_XOR: sp--; sp[-1] ^= sp[0]; break;
        case OP_SHL: sp--; sp[-1] = (uint64_t)sp[-1] << (sp[0] & 63); break;
        case OP_SHR: sp--; sp[-1] = (uint64_t)sp[-1] >> (sp[0] & 63); break;
        case OP_LT: sp--; sp[-1] = sp[-1] < sp[0]; break;
        case OP_LE: sp--; sp[-1] = sp[-1] <= sp[0]; break;
        case OP_EQ: sp--; sp[-1] = sp[-1] == sp[0]; break;
        case OP_NOT: sp[-1] = !sp[-1]; break;
        case OP_JMP: pc = pc0 + *pc; break;
        case OP_JZ: pc = *--sp == 0 ? pc0 + *pc : pc + 1; break;
        case OP_JNZ: pc = *--sp != 0 ? pc0 + *pc : pc + 1; break;
        default:
            return -1;
        }
    }
}

/* ---- the bytecode programs ---- */

enum { N, D, COUNT, X, STEPS, I };

/* count = number of primes below `limit`, by trial division with odd divisors. */
static void assemble_primes(int32_t limit)
{
    enum { NEXT_N, NEXT_D, COMPOSITE, PRIME, DONE };
    assemble_begin();
    op1(OP_PUSH, 1); op1(OP_STORE, COUNT); /* 2 is prime */
    op1(OP_PUSH, 3); op1(OP_STORE, N);
    label(NEXT_N);
    op1(OP_LOAD, N); op1(OP_PUSH, limit); op0(OP_LT); jump(OP_JZ, DONE);
    op1(OP_PUSH, 3); op1(OP_STORE, D);
    label(NEXT_D);
    /* d * d > n: no divisor found */
    op1(OP_LOAD, D); op0(OP_DUP); op0(OP_MUL); op1(OP_LOAD, N); op0(OP_SWAP); op0(OP_LT);
    jump(OP_JNZ, PRIME);
    op1(OP_LOAD, N); op1(OP_LOAD, D); op0(OP_MOD); jump(OP_JZ, COMPOSITE);
    addi(D, 2);
    jump(OP_JMP, NEXT_D);
    label(PRIME);
    addi(COUNT, 1);
    label(COMPOSITE);
    addi(N, 2);
    jump(OP_JMP, NEXT_N);
    label(DONE);
    op1(OP_LOAD, COUNT);
    op0(OP_HALT);
    assemble_end();
}

/* steps = sum over i in 1..=n of the Collatz sequence length of i. */
static void assemble_collatz(int32_t n)
{
    enum { NEXT_I, STEP, ODD, STEPPED, DONE };
    assemble_begin();
    op1(OP_PUSH, 0); op1(OP_STORE, STEPS);
    op1(OP_PUSH, 1); op1(OP_STORE, I);
    label(NEXT_I);
    op1(OP_LOAD, I); op1(OP_PUSH, n); op0(OP_LE); jump(OP_JZ, DONE);
    op1(OP_LOAD, I); op1(OP_STORE, X);
    label(STEP);
    op1(OP_LOAD, X); op1(OP_PUSH, 1); op0(OP_EQ); jump(OP_JNZ, STEPPED);
    op1(OP_LOAD, X); op1(OP_PUSH, 1); op0(OP_AND); jump(OP_JNZ, ODD);
    op1(OP_LOAD, X); op1(OP_PUSH, 1); op0(OP_SHR); op1(OP_STORE, X);
    addi(STEPS, 1);
    jump(OP_JMP, STEP);
    label(ODD);
    op1(OP_LOAD, X); op1(OP_PUSH, 3); op0(OP_MUL); op1(OP_PUSH, 1); op0(OP_ADD); op1(OP_STORE, X);
    addi(STEPS, 1);
    jump(OP_JMP, STEP);
    label(STEPPED);
    addi(I, 1);
    jump(OP_JMP, NEXT_I);
    label(DONE);
    op1(OP_LOAD, STEPS);
    op0(OP_HALT);
    assemble_end();
}

static uint64_t collatz_in_c(uint64_t n)
{
    uint64_t steps = 0;
    for (uint64_t i = 1; i <= n; i++)
        for (uint64_t x = i; x != 1; steps++)
            x = (x & 1) ? 3 * x + 1 : x >> 1;
    return steps;
}

int main(void)
{
    int64_t local[8];
    uint64_t checksum = 0;
    int rounds = ROUNDS;
    OPAQUE(rounds);
    for (int r = 0; r < rounds; r++) {
        /* Vary the bounds a little per round so the work is not repeated verbatim. */
        int32_t collatz_n = COLLATZ_N + r;
        assemble_primes(LIMIT);
        int64_t primes = run(code, local);
        if (primes != PRIMES_BELOW_LIMIT)
            return fail("interp", "prime count below 100000 != 9592");
        assemble_collatz(collatz_n);
        int64_t steps = run(code, local);
        if ((uint64_t)steps != collatz_in_c(collatz_n))
            return fail("interp", "Collatz steps differ from the C computation");
        checksum = (checksum << 13 | checksum >> 51) ^ (uint64_t)primes ^ (uint64_t)steps << 20;
    }
    report("collatz steps", collatz_in_c(COLLATZ_N + ROUNDS - 1));
    return finish("interp", checksum, EXPECTED);
}
