/* Sv48 page-based virtual memory (privileged spec 4.4): four levels, 48-bit virtual
 * addresses.
 *
 * - a 4 KiB page reached through all four levels, 2 MiB, 1 GiB and 512 GiB superpages
 *   (the last one mapping physical address 0, so RAM appears at VA 512 GiB + PA);
 * - misaligned 1 GiB and 512 GiB superpages raise page faults;
 * - hardware A/D update on a 4 KiB page reached through four levels;
 * - virtual addresses not sign-extended from bit 47 raise page faults, mtval = the
 *   address;
 * - satp.MODE reads back 9.
 */
#include "test_macros.h"
#include "vm_macros.h"

#define T (1 << 39)                      /* 512 GiB: one root entry */
#define G (1 << 30)

TEST_BEGIN
    la t0, page1
    li t1, 0x1111
    sd t1, 8(t0)
    li t0, 0x80400000 + 0x100
    li t1, 0x4444
    sd t1, 0(t0)

    PT_PTR root, 0, l2                                   /* VA [0, 512 GiB) */
    PT_LEAF_ABS l2, 2, 0x80000000, PTE_RWX | PTE_AD      /* identity for the test */
    PT_LEAF_ABS root, 1, 0, PTE_R | PTE_W | PTE_AD       /* 512 GiB page at PA 0 */
    PT_LEAF_ABS root, 2, 0x80000000, PTE_R | PTE_W | PTE_AD   /* misaligned 512 GiB */
    PT_PTR root, 3, l2b                                  /* VA [3T, 4T) */
    PT_PTR l2b, 0, l1
    PT_LEAF_ABS l2b, 1, 0x80000000, PTE_R | PTE_W | PTE_AD    /* 1 GiB */
    PT_LEAF_ABS l2b, 2, 0x80200000, PTE_R | PTE_W | PTE_AD    /* misaligned 1 GiB */
    PT_PTR l1, 0, l0
    PT_LEAF_ABS l1, 1, 0x80400000, PTE_R | PTE_W | PTE_AD     /* 2 MiB */
    PT_LEAF_SYM l0, 1, page1, PTE_R | PTE_W | PTE_AD
    PT_LEAF_SYM l0, 2, page2, PTE_R | PTE_W                   /* A = D = 0 */

    TEST_NUM(1)
    SATP_SET SATP_MODE_SV48, root
    csrr a0, satp
    srli a0, a0, 60
    CHECK a0, 9

    li a1, 3 * T + 0x1000
    S_OK(2, ld a0, 8(a1))                                /* 4 KiB, four levels */
    CHECK a0, 0x1111
    li a1, 3 * T + 0x200000 + 0x100
    S_OK(3, ld a0, 0(a1))                                /* 2 MiB */
    CHECK a0, 0x4444
    TEST_NUM(4)                                          /* 1 GiB: page1 through it */
    la a1, page1
    li t0, 3 * T + G - 0x80000000
    add a1, a1, t0
    S_OK(4, ld a0, 8(a1))
    CHECK a0, 0x1111
    TEST_NUM(5)                                          /* 512 GiB at PA 0 */
    la a1, page1
    li t0, T
    add a1, a1, t0
    S_OK(5, li a2, 0x5555; sd a2, 16(a1))
    la t0, page1
    ld a0, 16(t0)
    CHECK a0, 0x5555
    li a1, 3 * T + 0x2000
    S_OK(6, sd a1, 0(a1))                                /* A/D through four levels */
    PT_READ a0, l0, 2
    andi a0, a0, PTE_AD
    CHECK a0, PTE_AD

    li a1, 2 * T
    S_FAULT(7, CAUSE_LOAD_PAGE_FAULT, 2 * T, ld a0, 0(a1))         /* misaligned 512 GiB */
    li a1, 3 * T + 2 * G
    S_FAULT(8, CAUSE_STORE_PAGE_FAULT, 3 * T + 2 * G, sd a0, 0(a1)) /* misaligned 1 GiB */
    li a1, 0x0000800000000000
    S_FAULT(9, CAUSE_LOAD_PAGE_FAULT, 0x0000800000000000, ld a0, 0(a1)) /* bit 47 not extended */
    li a1, 0xffff800000000000
    S_FAULT(10, CAUSE_LOAD_PAGE_FAULT, 0xffff800000000000, ld a0, 0(a1)) /* canonical, unmapped */
    li a1, 4 * T
    S_FAULT(11, CAUSE_LOAD_PAGE_FAULT, 4 * T, ld a0, 0(a1))         /* unmapped root entry */

    csrw satp, zero
    sfence.vma
TEST_END

    .data
    .balign 4096
root:  .zero 4096
l2:    .zero 4096
l2b:   .zero 4096
l1:    .zero 4096
l0:    .zero 4096
page1: .zero 4096
page2: .zero 4096
