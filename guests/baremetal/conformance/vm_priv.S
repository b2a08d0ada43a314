/* Privilege in address translation: U pages, SUM, MXR, MPRV (privileged spec
 * 3.1.6.3 MPRV/MXR/SUM, 4.3.1 PTE U bit), with Sv39.
 *
 * - S-mode may not load/store U pages unless sstatus.SUM = 1, and never executes from
 *   a U page (even with SUM). U-mode may only touch U pages.
 * - MXR = 1 lets loads read execute-only pages (S and U); stores are still refused.
 * - MPRV = 1 makes M-mode loads and stores translate and check permissions as if in
 *   mstatus.MPP (with SUM and MXR applying), with faults taken to M-mode (mtval = the
 *   virtual address); instruction fetch is not affected; MPP = M means no translation.
 * Page faults: load 13, store 15, fetch 12.
 */
#include "test_macros.h"
#include "vm_macros.h"

#define UALIAS 0x40000000                /* user alias of RAM: VA = PA - 0x4000_0000 */

/* Check n: `code...` in U-mode (at the user alias) traps with `cause`/`tval`. */
#define U_FAULT(n, cause, tval, code...) \
    TEST_NUM(n); TRAP_ARM 7789f; la t6, 7788f; li t5, -UALIAS; add t6, t6, t5; \
    csrw mepc, t6; li t6, MSTATUS_MPP; csrc mstatus, t6; mret; \
    7788: code; j fail; \
    7789: CHECK_TA TA_CAUSE, cause; CHECK_TA TA_TVAL, tval

/* Check n: `code...` runs in U-mode (user alias) without trapping. */
#define U_OK(n, code...) \
    TEST_NUM(n); TRAP_ARM 7787f; la t6, 7786f; li t5, -UALIAS; add t6, t6, t5; \
    csrw mepc, t6; li t6, MSTATUS_MPP; csrc mstatus, t6; mret; \
    7786: code; ecall; \
    7787: CHECK_TA TA_CAUSE, CAUSE_USER_ECALL

/* mstatus bits on / off */
.macro MS_SET bits
    li t0, \bits
    csrs mstatus, t0
.endm
.macro MS_CLR bits
    li t0, \bits
    csrc mstatus, t0
.endm

TEST_BEGIN
    la t0, page1
    li t1, 0x1111
    sd t1, 0(t0)
    la t0, page2
    li t1, 0x2222
    sd t1, 0(t0)
    la t0, page3
    li t1, 0x3333
    sd t1, 0(t0)
    la t0, page4                         /* user code: li a0, 44; ret */
    li t1, 0x02c00513
    sw t1, 0(t0)
    li t1, 0x00008067
    sw t1, 4(t0)
    fence.i

    PT_LEAF_ABS root, 2, 0x80000000, PTE_RWX | PTE_AD
    PT_LEAF_ABS root, 1, 0x80000000, PTE_RWX | PTE_AD | PTE_U   /* user alias */
    PT_PTR root, 0, l1
    PT_PTR l1, 0, l0
    PT_LEAF_SYM l0, 1, page1, PTE_R | PTE_W | PTE_AD | PTE_U
    PT_LEAF_SYM l0, 2, page2, PTE_R | PTE_W | PTE_AD
    PT_LEAF_SYM l0, 3, page3, PTE_X | PTE_AD
    PT_LEAF_SYM l0, 4, page3, PTE_X | PTE_AD | PTE_U
    PT_LEAF_SYM l0, 5, page4, PTE_RWX | PTE_AD | PTE_U
    SATP_SET SATP_MODE_SV39, root
    MS_CLR MSTATUS_SUM | MSTATUS_MXR | MSTATUS_MPRV

    /* ---- SUM ---- */
    li a1, 0x1000
    S_FAULT(1, CAUSE_LOAD_PAGE_FAULT, 0x1000, ld a0, 0(a1))
    S_FAULT(2, CAUSE_STORE_PAGE_FAULT, 0x1008, sd a0, 8(a1))
    MS_SET MSTATUS_SUM
    S_OK(3, ld a0, 0(a1); sd a0, 8(a1))
    CHECK a0, 0x1111
    TEST_NUM(4)                          /* never execute a U page from S, even with SUM */
    RUN_IN MSTATUS_MPP_S, 1f, 2f
1:  li a1, 0x5000
    jalr ra, 0(a1)
    j fail
2:  CHECK_TA TA_CAUSE, CAUSE_FETCH_PAGE_FAULT
    CHECK_TA TA_TVAL, 0x5000
    CHECK_TA TA_EPC, 0x5000
    TEST_NUM(5)                          /* sstatus.SUM is the same bit */
    CHECK_CSR_MASK sstatus, MSTATUS_SUM, MSTATUS_SUM
    MS_CLR MSTATUS_SUM

    /* ---- U-mode ---- */
    li a1, 0x1000
    U_OK(6, ld a0, 0(a1))
    CHECK a0, 0x1111
    li a1, 0x2000
    U_FAULT(7, CAUSE_LOAD_PAGE_FAULT, 0x2000, ld a0, 0(a1))
    MS_SET MSTATUS_SUM                   /* SUM does not matter to U-mode */
    U_FAULT(8, CAUSE_STORE_PAGE_FAULT, 0x2010, sd a0, 16(a1))
    MS_CLR MSTATUS_SUM
    U_OK(9, li a0, 0; li a1, 0x5000; jalr ra, 0(a1))            /* U code page */
    CHECK a0, 44
    TEST_NUM(10)                         /* U-mode may not execute an S page */
    TRAP_ARM 4f
    li t0, MSTATUS_MPP
    csrc mstatus, t0
    la t0, 3f
    csrw mepc, t0                        /* identity address: not a U page */
    mret
3:  j fail
4:  CHECK_TA TA_CAUSE, CAUSE_FETCH_PAGE_FAULT
    CHECK_TA_ADDR TA_TVAL, 3b

    /* ---- MXR ---- */
    li a1, 0x3000
    S_FAULT(11, CAUSE_LOAD_PAGE_FAULT, 0x3000, ld a0, 0(a1))
    MS_SET MSTATUS_MXR
    S_OK(12, ld a0, 0(a1))
    CHECK a0, 0x3333
    S_FAULT(13, CAUSE_STORE_PAGE_FAULT, 0x3000, sd a0, 0(a1))   /* still no stores */
    li a1, 0x4000
    U_OK(14, ld a0, 0(a1))
    CHECK a0, 0x3333
    MS_CLR MSTATUS_MXR
    U_FAULT(15, CAUSE_LOAD_PAGE_FAULT, 0x4000, ld a0, 0(a1))

    /* ---- MPRV ---- */
    TEST_NUM(16)                         /* MPP = S: loads translate */
    MS_CLR MSTATUS_MPP
    MS_SET MSTATUS_MPP_S | MSTATUS_MPRV
    li a1, 0x2000
    ld a0, 0(a1)
    li a2, 0x2d2d
    sd a2, 8(a1)
    MS_CLR MSTATUS_MPRV
    CHECK a0, 0x2222
    la t0, page2
    ld a0, 8(t0)
    CHECK a0, 0x2d2d
    TEST_NUM(17)                         /* ...with S permissions: U page faults, in M */
    TRAP_ARM 5f
    MS_SET MSTATUS_MPP_S
    MS_SET MSTATUS_MPRV
    li a1, 0x1000
    ld a0, 0(a1)
    j fail
5:  CHECK_TA TA_CAUSE, CAUSE_LOAD_PAGE_FAULT
    CHECK_TA TA_TVAL, 0x1000
    CHECK_TA_MASK TA_MSTATUS, MSTATUS_MPP, MSTATUS_MPP_M   /* taken from M-mode */
    CHECK_CSR_MASK mstatus, MSTATUS_MPRV, 0                 /* (the handler cleared it) */
    TEST_NUM(18)                         /* ...and SUM applies */
    MS_CLR MSTATUS_MPP
    MS_SET MSTATUS_MPP_S | MSTATUS_SUM | MSTATUS_MPRV
    li a1, 0x1000
    ld a0, 0(a1)
    MS_CLR MSTATUS_MPRV | MSTATUS_SUM
    CHECK a0, 0x1111
    TEST_NUM(19)                         /* MPP = U: U pages only */
    MS_CLR MSTATUS_MPP
    MS_SET MSTATUS_MPRV
    li a1, 0x1000
    ld a0, 0(a1)
    MS_CLR MSTATUS_MPRV
    CHECK a0, 0x1111
    TEST_NUM(20)
    TRAP_ARM 6f                          /* (before MPRV: trap_area is not a U page) */
    MS_CLR MSTATUS_MPP
    MS_SET MSTATUS_MPRV
    li a1, 0x2000
    sd a0, 0(a1)
    j fail
6:  CHECK_TA TA_CAUSE, CAUSE_STORE_PAGE_FAULT
    CHECK_TA TA_TVAL, 0x2000
    TEST_NUM(21)                         /* MXR applies too */
    MS_CLR MSTATUS_MPP
    MS_SET MSTATUS_MPP_S | MSTATUS_MXR | MSTATUS_MPRV
    li a1, 0x3000
    ld a0, 0(a1)
    MS_CLR MSTATUS_MPRV | MSTATUS_MXR
    CHECK a0, 0x3333
    TEST_NUM(22)                         /* MPP = M: no translation (physical page2) */
    MS_SET MSTATUS_MPP_M | MSTATUS_MPRV
    la a1, page2
    ld a0, 0(a1)
    MS_CLR MSTATUS_MPRV
    CHECK a0, 0x2222
    /* (fetches were never translated above: with MPP = U, M-mode kept running from
     * pages U-mode could not execute) */

    csrw satp, zero
    sfence.vma
TEST_END

    .data
    .balign 4096
root:  .zero 4096
l1:    .zero 4096
l0:    .zero 4096
page1: .zero 4096
page2: .zero 4096
page3: .zero 4096
page4: .zero 4096
