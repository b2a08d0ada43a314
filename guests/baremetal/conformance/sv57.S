/* Sv57 page-based virtual memory (privileged spec 4.5): five levels, 57-bit virtual
 * addresses.
 *
 * - a 4 KiB page reached through all five levels, a 512 GiB and a 256 TiB superpage
 *   (both mapping physical address 0, so RAM appears at VA = size + PA);
 * - a misaligned 256 TiB superpage raises a page fault;
 * - hardware A/D update through five levels;
 * - virtual addresses not sign-extended from bit 56 raise page faults;
 * - satp.MODE reads back 10; switching Sv57 -> Sv39 changes the meaning of addresses.
 */
#include "test_macros.h"
#include "vm_macros.h"

#define P (1 << 48)                      /* 256 TiB: one root entry */
#define T (1 << 39)

TEST_BEGIN
    la t0, page1
    li t1, 0x1111
    sd t1, 8(t0)

    PT_PTR root, 0, l3                                   /* VA [0, 256 TiB) */
    PT_PTR l3, 0, l2
    PT_LEAF_ABS l2, 2, 0x80000000, PTE_RWX | PTE_AD      /* identity for the test */
    PT_LEAF_ABS l3, 1, 0, PTE_R | PTE_W | PTE_AD         /* 512 GiB at PA 0 */
    PT_PTR l3, 2, l2b                                    /* VA [2T, 3T): full walk */
    PT_PTR l2b, 0, l1
    PT_PTR l1, 0, l0
    PT_LEAF_SYM l0, 1, page1, PTE_R | PTE_W | PTE_AD
    PT_LEAF_SYM l0, 2, page2, PTE_R | PTE_W              /* A = D = 0 */
    PT_LEAF_ABS root, 1, 0, PTE_R | PTE_W | PTE_AD       /* 256 TiB at PA 0 */
    PT_LEAF_ABS root, 2, 0x80000000, PTE_R | PTE_W | PTE_AD   /* misaligned 256 TiB */
    /* a Sv39 root for the mode switch: VA 0x1000 -> page2 */
    PT_LEAF_ABS root39, 2, 0x80000000, PTE_RWX | PTE_AD
    PT_PTR root39, 0, l1_39
    PT_PTR l1_39, 0, l0_39
    PT_LEAF_SYM l0_39, 1, page2, PTE_R | PTE_W | PTE_AD

    TEST_NUM(1)
    SATP_SET SATP_MODE_SV57, root
    csrr a0, satp
    srli a0, a0, 60
    CHECK a0, 10

    li a1, 2 * T + 0x1000
    S_OK(2, ld a0, 8(a1))                                /* five levels */
    CHECK a0, 0x1111
    TEST_NUM(3)                                          /* 512 GiB page */
    la a1, page1
    li t0, T
    add a1, a1, t0
    S_OK(3, ld a0, 8(a1))
    CHECK a0, 0x1111
    TEST_NUM(4)                                          /* 256 TiB page */
    la a1, page1
    li t0, P
    add a1, a1, t0
    S_OK(4, li a2, 0x5555; sd a2, 16(a1))
    la t0, page1
    ld a0, 16(t0)
    CHECK a0, 0x5555
    li a1, 2 * T + 0x2000
    S_OK(5, ld a0, 0(a1))                                /* A through five levels */
    PT_READ a0, l0, 2
    andi a0, a0, PTE_AD
    CHECK a0, PTE_A
    li a1, 2 * P
    S_FAULT(6, CAUSE_LOAD_PAGE_FAULT, 2 * P, ld a0, 0(a1))          /* misaligned 256 TiB */
    li a1, 0x0100000000000000
    S_FAULT(7, CAUSE_LOAD_PAGE_FAULT, 0x0100000000000000, ld a0, 0(a1)) /* bit 56 not extended */
    li a1, 0xff00000000000000
    S_FAULT(8, CAUSE_STORE_PAGE_FAULT, 0xff00000000000000, sd a0, 0(a1)) /* canonical, unmapped */
    li a1, 3 * P
    S_FAULT(9, CAUSE_LOAD_PAGE_FAULT, 3 * P, ld a0, 0(a1))

    TEST_NUM(10)                                         /* Sv57 -> Sv39 */
    SATP_SET SATP_MODE_SV39, root39
    li t0, 0x2222
    la t1, page2
    sd t0, 0(t1)
    li a1, 0x1000
    S_OK(10, ld a0, 0(a1))
    CHECK a0, 0x2222
    TEST_NUM(11)                                         /* and back */
    SATP_SET SATP_MODE_SV57, root
    li a1, 2 * T + 0x1000
    S_OK(11, ld a0, 8(a1))
    CHECK a0, 0x1111

    csrw satp, zero
    sfence.vma
TEST_END

    .data
    .balign 4096
root:   .zero 4096
l3:     .zero 4096
l2:     .zero 4096
l2b:    .zero 4096
l1:     .zero 4096
l0:     .zero 4096
page1:  .zero 4096
page2:  .zero 4096
root39: .zero 4096
l1_39:  .zero 4096
l0_39:  .zero 4096
