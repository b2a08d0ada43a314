/* calls: call-and-return heavy code.
 *
 * Recursive fib, Takeuchi's tak and Ackermann (direct calls, each ending in a `ret`,
 * i.e. an indirect jump through ra), and the recursive evaluation of an expression
 * tree whose nodes call their children through function pointers (indirect calls
 * with many targets from one site). The work per call is a few instructions, so an
 * emulator's cost of `jal`/`jalr` dominates: this is where return-address prediction
 * or a jump cache pays.
 *
 * Checks: fib, tak and ack against their known values every round, the tree against
 * an iterative evaluation, and the checksum of the run against a reference (same
 * value from a host build of this file). */
#include "bench.h"

#ifndef ROUNDS
#define ROUNDS 170
#endif
#ifndef EXPECTED
#define EXPECTED 0xa3d2389257af62bfULL /* QEMU 7.2 and a host build agree */
#endif

/* noipa: keep every call a real call (no cloning, no inlining into the caller). */
#define CALLEE __attribute__((noipa))

CALLEE static uint64_t fib(uint64_t n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

CALLEE static int tak(int x, int y, int z)
{
    if (y >= x)
        return z;
    return tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y));
}

/* Depth reaches ack(3, n)'s value, 509 frames for n = 6: within crt0's 64 KiB stack. */
CALLEE static uint64_t ack(uint64_t m, uint64_t n)
{
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ack(m - 1, 1);
    return ack(m - 1, ack(m, n - 1));
}

/* ---- an expression tree evaluated through function pointers ---- */

struct node;
typedef uint64_t (*eval_fn)(const struct node *);
struct node {
    eval_fn eval;
    const struct node *l, *r;
    uint64_t v;
};

#define TREE_DEPTH 14
#define TREE_NODES ((1 << (TREE_DEPTH + 1)) - 1)
static struct node tree[TREE_NODES];

CALLEE static uint64_t ev_leaf(const struct node *n) { return n->v; }
CALLEE static uint64_t ev_add(const struct node *n) { return n->l->eval(n->l) + n->r->eval(n->r); }
CALLEE static uint64_t ev_sub(const struct node *n) { return n->l->eval(n->l) - n->r->eval(n->r); }
CALLEE static uint64_t ev_mul(const struct node *n) { return n->l->eval(n->l) * (n->r->eval(n->r) | 1); }
CALLEE static uint64_t ev_xor(const struct node *n) { return n->l->eval(n->l) ^ n->r->eval(n->r); }
CALLEE static uint64_t ev_rot(const struct node *n)
{
    uint64_t a = n->l->eval(n->l), b = n->r->eval(n->r) & 63;
    return (a << b) | (a >> ((64 - b) & 63));
}
static const eval_fn ops[5] = {ev_add, ev_sub, ev_mul, ev_xor, ev_rot};

/* Heap layout: node i has children 2i+1 and 2i+2. */
static void build_tree(uint64_t *seed)
{
    for (long i = 0; i < TREE_NODES; i++) {
        uint64_t x = rng_next(seed);
        if (2 * i + 2 < TREE_NODES) {
            tree[i].eval = ops[x % 5];
            tree[i].l = &tree[2 * i + 1];
            tree[i].r = &tree[2 * i + 2];
        } else {
            tree[i].eval = ev_leaf;
            tree[i].v = x;
        }
    }
}

/* The same evaluation bottom-up, without calls, as the reference. */
static uint64_t tree_values[TREE_NODES];
static uint64_t eval_iterative(void)
{
    for (long i = TREE_NODES - 1; i >= 0; i--) {
        const struct node *n = &tree[i];
        if (n->eval == ev_leaf) {
            tree_values[i] = n->v;
            continue;
        }
        uint64_t a = tree_values[2 * i + 1], b = tree_values[2 * i + 2], v;
        if (n->eval == ev_add)
            v = a + b;
        else if (n->eval == ev_sub)
            v = a - b;
        else if (n->eval == ev_mul)
            v = a * (b | 1);
        else if (n->eval == ev_xor)
            v = a ^ b;
        else
            v = (a << (b & 63)) | (a >> ((64 - (b & 63)) & 63));
        tree_values[i] = v;
    }
    return tree_values[0];
}

int main(void)
{
    uint64_t seed = 0x5eed5eed5eedULL, checksum = 0;
    int rounds = ROUNDS;
    OPAQUE(rounds);
    for (int r = 0; r < rounds; r++) {
        uint64_t n = 24 + r % 3;
        OPAQUE(n);
        uint64_t f = fib(n);
        uint64_t a = 0, b = 1;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t t = a + b;
            a = b;
            b = t;
        }
        if (f != a)
            return fail("calls", "fib");

        int x = 18, y = 12, z = 6;
        OPAQUE(x);
        if (tak(x, y, z) != 7)
            return fail("calls", "tak(18, 12, 6) != 7");

        uint64_t m = 3, k = 6;
        OPAQUE(m);
        if (ack(m, k) != 509)
            return fail("calls", "ack(3, 6) != 509");

        build_tree(&seed);
        uint64_t t = tree[0].eval(&tree[0]);
        if (t != eval_iterative())
            return fail("calls", "tree evaluation");

        checksum = (checksum << 7 | checksum >> 57) ^ f ^ t;
    }
    return finish("calls", checksum, EXPECTED);
}
