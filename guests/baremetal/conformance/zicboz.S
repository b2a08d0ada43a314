/* Zicboz: cache-block zero (CMO spec 1.0, chapters 2.5.1 and 3.3.1; privileged spec
 * 3.1.18 menvcfg and 4.1.10 senvcfg).
 *
 * - CBO.ZERO zeroes the naturally aligned 64-byte block that contains the address in
 *   rs1 (any address inside the block), and nothing outside it.
 * - In M-mode it is always enabled. In S-mode it needs menvcfg.CBZE (bit 7), in U-mode
 *   menvcfg.CBZE and senvcfg.CBZE; otherwise illegal instruction.
 * - It is a store for translation and permissions: on a read-only page it raises a
 *   store page fault.
 * The block size is 64 bytes on tern (as QEMU's default where it has Zicboz).
 *
 * QEMU 7.2 has no Zicboz (added in QEMU 8.0; cbo.zero is an illegal instruction there),
 * so this runs on tern only.
 */
// qemu: no — QEMU 7.2 has no Zicboz (cbo.zero is an illegal instruction there; added in QEMU 8.0)
#include "test_macros.h"

#define ENVCFG_CBZE (1 << 7)

/* Fill the 3 blocks at cbo_buf with 0xa5 bytes. */
.macro FILL_BUF
    la t0, cbo_buf
    li t1, 0xa5a5a5a5a5a5a5a5
    li t2, 24
1:  sd t1, 0(t0)
    addi t0, t0, 8
    addi t2, t2, -1
    bnez t2, 1b
.endm

/* Check that block `b` (0..2) of cbo_buf is all zero (zero = 1) or all 0xa5. */
.macro CHECK_BLOCK b, zero
    la t0, cbo_buf + 64 * \b
    li t2, 8
2:  ld t1, 0(t0)
    .if \zero
    CHECK t1, 0
    .else
    CHECK t1, 0xa5a5a5a5a5a5a5a5
    .endif
    addi t0, t0, 8
    addi t2, t2, -1
    bnez t2, 2b
.endm

TEST_BEGIN
    .option arch, +zicboz

    TEST_NUM(1)                          /* M-mode, address at the block start */
    FILL_BUF
    la a1, cbo_buf + 64
    cbo.zero (a1)
    CHECK_BLOCK 0, 0
    CHECK_BLOCK 1, 1
    CHECK_BLOCK 2, 0
    TEST_NUM(2)                          /* address in the middle of the block */
    FILL_BUF
    la a1, cbo_buf + 64 + 37
    cbo.zero (a1)
    CHECK_BLOCK 0, 0
    CHECK_BLOCK 1, 1
    CHECK_BLOCK 2, 0
    TEST_NUM(3)                          /* last byte of the block */
    FILL_BUF
    la a1, cbo_buf + 127
    cbo.zero (a1)
    CHECK_BLOCK 1, 1
    CHECK_BLOCK 2, 0

    /* ---- enables (menvcfg/senvcfg.CBZE) ---- */
    csrwi menvcfg, 0
    csrwi senvcfg, 0
    la a1, cbo_buf + 64
    TEST_NUM(4)                          /* S-mode, menvcfg.CBZE = 0: illegal */
    RUN_IN MSTATUS_MPP_S, 4f, 5f
4:  cbo.zero (a1)
    j fail
5:  CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 4b
    CHECK_TVAL_INSN
    TEST_NUM(5)                          /* S-mode with menvcfg.CBZE: zeroes */
    FILL_BUF
    li t0, ENVCFG_CBZE
    csrs menvcfg, t0
    RUN_IN MSTATUS_MPP_S, 6f, 7f
6:  cbo.zero (a1)
    ecall
7:  CHECK_TA TA_CAUSE, CAUSE_SUPERVISOR_ECALL
    CHECK_BLOCK 1, 1
    CHECK_BLOCK 0, 0
    TEST_NUM(6)                          /* U-mode needs senvcfg.CBZE as well */
    FILL_BUF
    RUN_IN 0, 8f, 9f
8:  cbo.zero (a1)
    j fail
9:  CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_TA_ADDR TA_EPC, 8b
    CHECK_BLOCK 1, 0
    TEST_NUM(7)
    li t0, ENVCFG_CBZE
    csrs senvcfg, t0
    RUN_IN 0, 10f, 11f
10: cbo.zero (a1)
    ecall
11: CHECK_TA TA_CAUSE, CAUSE_USER_ECALL
    CHECK_BLOCK 1, 1
    TEST_NUM(8)                          /* senvcfg.CBZE alone does not enable U-mode */
    FILL_BUF
    li t0, ENVCFG_CBZE
    csrc menvcfg, t0
    RUN_IN 0, 12f, 13f
12: cbo.zero (a1)
    j fail
13: CHECK_TA TA_CAUSE, CAUSE_ILLEGAL_INSTRUCTION
    CHECK_BLOCK 1, 0

    /* ---- a store for permissions: read-only page under Sv39 -> store page fault ---- */
    TEST_NUM(9)
    FILL_BUF
    li t0, ENVCFG_CBZE
    csrs menvcfg, t0
    /* root: gigapage 2 (0x8000_0000) identity RWX; level 1 table for VA 0xc000_0000
     * with one 2 MiB leaf, read-only, mapping to the 2 MiB region of cbo_buf */
    la t0, pt_root
    li t1, (0x80000000 >> 12 << 10) | PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D
    sd t1, 16(t0)
    la t1, pt_l1
    srli t1, t1, 12
    slli t1, t1, 10
    ori t1, t1, PTE_V
    sd t1, 24(t0)
    la t2, cbo_buf
    li t3, ~0x1fffff
    and t2, t2, t3                       /* 2 MiB region of cbo_buf */
    srli t4, t2, 12
    slli t4, t4, 10
    ori t4, t4, PTE_V | PTE_R | PTE_A
    la t1, pt_l1
    sd t4, 0(t1)
    srli t0, t0, 12
    li t1, SATP_MODE_SV39
    or t0, t0, t1
    csrw satp, t0
    sfence.vma
    la a1, cbo_buf + 64
    sub a1, a1, t2
    li t3, 0xc0000000
    add a1, a1, t3                       /* VA of cbo_buf + 64 through the read-only leaf */
    RUN_IN MSTATUS_MPP_S, 14f, 15f
14: cbo.zero (a1)
    j fail
15: CHECK_TA TA_CAUSE, CAUSE_STORE_PAGE_FAULT
    CHECK_TA_ADDR TA_EPC, 14b
    csrw satp, zero
    sfence.vma
    CHECK_BLOCK 1, 0

TEST_END

    .data
    .align 6
cbo_buf:
    .zero 64 * 3
    .align 12
pt_root:
    .zero 4096
pt_l1:
    .zero 4096
