/* Sv39 page-based virtual memory (privileged spec 4.1.11 satp, 4.2 SFENCE.VMA,
 * 4.3 Sv39, 4.3.2 the translation process).
 *
 * Page tables built by the test: a 1 GiB identity leaf for RAM at 0x8000_0000 (the
 * test's code and data), 2 MiB and 4 KiB mappings at low virtual addresses, and
 * broken entries. Checked from S-mode (nothing delegated: faults reach M-mode):
 * - translation through 3 levels, 2 MiB and 1 GiB superpages;
 * - hardware A/D updates (QEMU sets A on any access and D on a store, in the PTE;
 *   the spec allows that or a page fault): checked by reading the PTE afterwards, for
 *   a 4 KiB page, a 2 MiB page, and a page that is fetched from;
 * - page faults (load 13, store 15, fetch 12) with mtval = the virtual address, for:
 *   invalid PTE, store to a read-only page, load from an execute-only page, fetch from
 *   a non-executable page, W without R (reserved), a U page accessed from S (SUM = 0),
 *   a non-leaf PTE at the last level, reserved PTE bits 63:54 set, misaligned 2 MiB and
 *   1 GiB superpages, addresses that are not sign-extended from bit 38;
 * - a 32-bit instruction whose second half is on an unmapped page: mepc = its start,
 *   mtval = the start of the unmapped page; split over two mapped pages that are not
 *   physically adjacent it runs, and after its second half is rewritten through
 *   another virtual alias and FENCE.I, it runs in its new form;
 * - misaligned loads and stores across a page boundary reach both physical pages; one
 *   that crosses into a read-only page faults with mtval = the boundary (QEMU's
 *   choice: the address of the part that faults);
 * - SFENCE.VMA (global and for one address) makes a changed PTE visible;
 * - satp: Sv39 and Bare are accepted, unsupported modes leave satp unchanged, the ASID
 *   field holds 16 bits (as on QEMU);
 * - page faults delegated to S-mode (medeleg) report scause/stval/sepc;
 * - switching satp to another root under an ASID not used before takes effect without
 *   SFENCE.VMA; SFENCE.VMA for one ASID makes a changed PTE visible.
 */
#include "test_macros.h"
#include "vm_macros.h"

#define MEGA_PA   0x80400000             /* 2 MiB-aligned RAM beyond the image */
#define MEGA_AD_PA 0x80600000

TEST_BEGIN
    /* markers in the data pages (physical addresses) */
    la t0, page1
    li t1, 0x1111
    sd t1, 8(t0)
    la t0, page3
    li t1, 0x3333
    sd t1, 0(t0)
    li t0, MEGA_PA + 0x1230
    li t1, 0x4444
    sd t1, 0(t0)
    /* code page (VA 0x9000 and 0xf000): li a0, 7; ret ... and at the end, c.nop then
     * a 32-bit addi a0, a0, 1 whose upper half is on the next virtual page (unmapped
     * at VA 0xa000, page6 at VA 0x10000) */
    la t0, page5
    li t1, 0x00700513
    sw t1, 0(t0)
    li t1, 0x00008067
    sw t1, 4(t0)
    li t1, 0x05130001                    /* c.nop; low half of addi a0, a0, 1 */
    li t2, 0xffc
    add t2, t2, t0
    sw t1, 0(t2)
    fence.i

    /* ---- page tables ---- */
    PT_LEAF_ABS root, 2, 0x80000000, PTE_RWX | PTE_AD
    PT_PTR root, 0, l1
    PT_LEAF_ABS root, 3, 0x80200000, PTE_R | PTE_W | PTE_AD       /* misaligned 1 GiB */
    PT_PTR l1, 0, l0
    PT_LEAF_ABS l1, 1, MEGA_PA, PTE_R | PTE_W | PTE_AD           /* VA 0x200000 */
    PT_LEAF_ABS l1, 2, MEGA_PA + 0x1000, PTE_R | PTE_W | PTE_AD  /* misaligned 2 MiB */
    PT_LEAF_ABS l1, 3, MEGA_AD_PA, PTE_R | PTE_W                 /* A = D = 0 */
    PT_LEAF_SYM l0, 1, page1, PTE_R | PTE_W | PTE_AD
    PT_LEAF_SYM l0, 2, page2, PTE_R | PTE_W                      /* A = D = 0 */
    PT_LEAF_SYM l0, 3, page3, PTE_R | PTE_AD
    PT_LEAF_SYM l0, 4, page4, PTE_X | PTE_A
    PT_RAW l0, 5, 0                                              /* invalid */
    PT_LEAF_SYM l0, 6, page1, PTE_W | PTE_AD                     /* W without R */
    PT_LEAF_SYM l0, 7, page1, PTE_R | PTE_W | PTE_U | PTE_AD     /* user page */
    PT_LEAF_SYM l0, 8, page2, PTE_R | PTE_W | PTE_A              /* D = 0 */
    PT_LEAF_SYM l0, 9, page5, PTE_X                              /* code, A = 0 */
    PT_RAW l0, 10, 0                                             /* invalid */
    PT_LEAF_SYM l0, 11, page1, PTE_R | PTE_W | PTE_AD
    PT_READ t0, l0, 11                                           /* + reserved bit 54 */
    li t2, 1 << 54
    or t0, t0, t2
    sd t0, 0(t1)
    PT_LEAF_SYM l0, 12, page1, 0                                 /* non-leaf at level 0 */
    PT_LEAF_SYM l0, 14, page1, PTE_R | PTE_W | PTE_AD            /* changed later */

    TEST_NUM(1)
    SATP_SET SATP_MODE_SV39, root
    csrr a0, satp
    srli a0, a0, 60
    CHECK a0, 8

    /* ---- translation ---- */
    S_OK(2, li a1, 0x1000; ld a0, 8(a1))
    CHECK a0, 0x1111
    S_OK(3, li a1, 0x1000; li a2, 0x5555; sd a2, 0x10(a1))
    la t0, page1
    ld a0, 0x10(t0)
    CHECK a0, 0x5555
    S_OK(4, li a1, 0x200000 + 0x1230; ld a0, 0(a1))             /* 2 MiB page */
    CHECK a0, 0x4444
    S_OK(5, li a1, 0x3ffff8; li a2, 0x6666; sd a2, 0(a1))        /* its last dword */
    li t0, MEGA_PA + 0x1ffff8
    ld a0, 0(t0)
    CHECK a0, 0x6666

    /* ---- A/D updates ---- */
    S_OK(6, li a1, 0x2000; ld a0, 0(a1))
    PT_READ a0, l0, 2
    andi a0, a0, PTE_AD
    CHECK a0, PTE_A                      /* read: A set, D still clear */
    S_OK(7, li a1, 0x2000; sd a1, 8(a1))
    PT_READ a0, l0, 2
    andi a0, a0, PTE_AD
    CHECK a0, PTE_AD
    S_OK(8, li a1, 0x8000; sw a1, 0(a1))
    PT_READ a0, l0, 8
    andi a0, a0, PTE_AD
    CHECK a0, PTE_AD
    S_OK(9, li a1, 0x600000; sd a1, 0(a1))                      /* superpage */
    PT_READ a0, l1, 3
    andi a0, a0, PTE_AD
    CHECK a0, PTE_AD
    S_OK(10, li a0, 0; li a1, 0x9000; jalr ra, 0(a1))           /* fetch */
    CHECK a0, 7
    PT_READ a0, l0, 9
    andi a0, a0, PTE_AD
    CHECK a0, PTE_A

    /* ---- page faults ---- */
    li a1, 0x3000
    S_OK(11, ld a0, 0(a1))
    CHECK a0, 0x3333
    S_FAULT(12, CAUSE_STORE_PAGE_FAULT, 0x3008, sd a0, 8(a1))
    li a1, 0x4000
    S_FAULT(13, CAUSE_LOAD_PAGE_FAULT, 0x4000, ld a0, 0(a1))    /* execute-only */
    li a1, 0x5000
    S_FAULT(14, CAUSE_LOAD_PAGE_FAULT, 0x5010, ld a0, 0x10(a1)) /* invalid */
    S_FAULT(15, CAUSE_STORE_PAGE_FAULT, 0x5008, sd a0, 8(a1))
    li a1, 0x6000
    S_FAULT(16, CAUSE_LOAD_PAGE_FAULT, 0x6000, ld a0, 0(a1))    /* W without R */
    S_FAULT(17, CAUSE_STORE_PAGE_FAULT, 0x6000, sd a0, 0(a1))
    li a1, 0x7000
    S_FAULT(18, CAUSE_LOAD_PAGE_FAULT, 0x7004, lw a0, 4(a1))    /* U page from S */
    li a1, 0xb000
    S_FAULT(19, CAUSE_LOAD_PAGE_FAULT, 0xb000, ld a0, 0(a1))    /* reserved bit 54 */
    li a1, 0xc000
    S_FAULT(20, CAUSE_LOAD_PAGE_FAULT, 0xc000, ld a0, 0(a1))    /* non-leaf at level 0 */
    li a1, 0x400000
    S_FAULT(21, CAUSE_LOAD_PAGE_FAULT, 0x400008, ld a0, 8(a1))  /* misaligned 2 MiB */
    li a1, 0xc0000000
    S_FAULT(22, CAUSE_STORE_PAGE_FAULT, 0xc0000000, sd a0, 0(a1)) /* misaligned 1 GiB */
    li a1, 0x0000008000001000
    S_FAULT(23, CAUSE_LOAD_PAGE_FAULT, 0x0000008000001000, ld a0, 0(a1)) /* bit 39 != 38 */
    li a1, 0xffffff8000000000
    S_FAULT(24, CAUSE_LOAD_PAGE_FAULT, 0xffffff8000000000, ld a0, 0(a1)) /* canonical, unmapped */
    li a1, 0x8000000080001000
    S_FAULT(25, CAUSE_LOAD_PAGE_FAULT, 0x8000000080001000, ld a0, 0(a1)) /* not canonical */
    TEST_NUM(26)                         /* fetch from a page without X */
    RUN_IN MSTATUS_MPP_S, 1f, 2f
1:  li a1, 0x1000
    jalr ra, 0(a1)
    j fail
2:  CHECK_TA TA_CAUSE, CAUSE_FETCH_PAGE_FAULT
    CHECK_TA TA_EPC, 0x1000
    CHECK_TA TA_TVAL, 0x1000
    TEST_NUM(27)                         /* instruction across a page boundary */
    RUN_IN MSTATUS_MPP_S, 3f, 4f
3:  li a1, 0x9ffc
    jalr ra, 0(a1)
    j fail
4:  CHECK_TA TA_CAUSE, CAUSE_FETCH_PAGE_FAULT
    CHECK_TA TA_EPC, 0x9ffe
    CHECK_TA TA_TVAL, 0xa000

    /* ---- SFENCE.VMA ---- */
    li a1, 0xe000
    S_OK(28, ld a0, 8(a1))
    CHECK a0, 0x1111
    TEST_NUM(29)                         /* remap to page3, global fence from M-mode */
    PT_LEAF_SYM l0, 14, page3, PTE_R | PTE_W | PTE_AD
    sfence.vma
    S_OK(29, ld a0, 0(a1))
    CHECK a0, 0x3333
    TEST_NUM(30)                         /* remap back, fence for that address in S-mode */
    PT_LEAF_SYM l0, 14, page1, PTE_R | PTE_W | PTE_AD
    S_OK(30, sfence.vma a1, zero; ld a0, 8(a1))
    CHECK a0, 0x1111
    TEST_NUM(31)                         /* invalidate it: now a page fault */
    PT_RAW l0, 14, 0
    sfence.vma a1
    S_FAULT(31, CAUSE_LOAD_PAGE_FAULT, 0xe008, ld a0, 8(a1))

    /* ---- satp ---- */
    TEST_NUM(32)                         /* unsupported modes: the write has no effect */
    csrr a1, satp
    li t0, (1 << 60) | 0x1234
    csrw satp, t0
    csrr a0, satp
    CHECK_REG a0, a1
    li t0, (11 << 60) | 0x1234           /* Sv64: not implemented */
    csrw satp, t0
    csrr a0, satp
    CHECK_REG a0, a1
    li t0, (15 << 60)
    csrw satp, t0
    csrr a0, satp
    CHECK_REG a0, a1
    TEST_NUM(33)                         /* the ASID field holds 16 bits */
    li t0, 0xffff << 44
    or t0, t0, a1
    csrw satp, t0
    csrr a0, satp
    CHECK_REG a0, t0
    csrw satp, a1
    sfence.vma
    TEST_NUM(34)                         /* Bare: S-mode uses physical addresses */
    csrw satp, zero
    sfence.vma
    CHECK_CSR satp, 0
    la a1, page3
    S_OK(34, ld a0, 0(a1))
    CHECK a0, 0x3333
    TEST_NUM(35)                         /* and back to Sv39 */
    SATP_SET SATP_MODE_SV39, root
    S_OK(35, li a1, 0x1000; ld a0, 8(a1))
    CHECK a0, 0x1111

    /* ---- page faults delegated to S-mode: scause/stval/sepc ---- */
    la t0, strap_entry
    csrw stvec, t0
    li t0, (1 << CAUSE_LOAD_PAGE_FAULT) | (1 << CAUSE_STORE_PAGE_FAULT) | (1 << CAUSE_FETCH_PAGE_FAULT)
    csrw medeleg, t0
    TEST_NUM(36)
    RUN_IN MSTATUS_MPP_S, 5f, 6f
5:  li a1, 0x5000
7:  ld a0, 0x18(a1)                      /* -> strap_entry, which ECALLs to M */
    j fail
6:  CHECK_TA TA_CAUSE, CAUSE_SUPERVISOR_ECALL
    CHECK_TA TA_SCAUSE, CAUSE_LOAD_PAGE_FAULT
    CHECK_TA TA_STVAL, 0x5018
    CHECK_TA_ADDR TA_SEPC, 7b
    TEST_NUM(37)
    RUN_IN MSTATUS_MPP_S, 8f, 9f
8:  li a1, 0x3000
10: sw a0, 4(a1)
    j fail
9:  CHECK_TA TA_SCAUSE, CAUSE_STORE_PAGE_FAULT
    CHECK_TA TA_STVAL, 0x3004
    CHECK_TA_ADDR TA_SEPC, 10b
    TEST_NUM(38)
    RUN_IN MSTATUS_MPP_S, 11f, 12f
11: li a1, 0x1000
    jalr ra, 0(a1)
    j fail
12: CHECK_TA TA_SCAUSE, CAUSE_FETCH_PAGE_FAULT
    CHECK_TA TA_STVAL, 0x1000
    CHECK_TA TA_SEPC, 0x1000
    csrw medeleg, zero

    /* ---- accesses that cross a page boundary (pages not physically adjacent) ---- */
    PT_LEAF_SYM l0, 15, page5, PTE_X | PTE_A                    /* VA 0xf000: code */
    PT_LEAF_SYM l0, 16, page6, PTE_X | PTE_A                    /* VA 0x10000: code */
    PT_LEAF_SYM l0, 17, page6, PTE_R | PTE_W | PTE_AD           /* VA 0x11000: page6 data view */
    PT_LEAF_SYM l0, 18, page3, PTE_R | PTE_W | PTE_AD           /* VA 0x12000 */
    PT_LEAF_SYM l0, 19, page1, PTE_R | PTE_W | PTE_AD           /* VA 0x13000 */
    PT_LEAF_SYM l0, 20, page3, PTE_R | PTE_AD                   /* VA 0x14000: read-only */
    sfence.vma
    la t0, page6
    li t1, 0x80820015                    /* upper half of addi a0, a0, 1; c.jr ra */
    sw t1, 0(t0)
    fence.i
    TEST_NUM(39)                         /* a load across 0x13000 (page3 | page1) */
    la t0, page3
    li t1, 0x1122334455667788
    li t2, 0xff8
    add t0, t0, t2
    sd t1, 0(t0)                         /* last dword of page3 */
    li a1, 0x12ffc
    S_OK(39, ld a0, 0(a1))
    CHECK a0, 0x0000000011223344         /* upper half: page1 bytes 0-3, zero */
    TEST_NUM(40)                         /* a store across the same boundary */
    li a1, 0x12ffa
    S_OK(40, li a2, 0xa1a2a3a4a5a6a7a8; sd a2, 0(a1))
    la t0, page1
    ld a0, 0(t0)
    CHECK a0, 0xa1a2
    la t0, page3
    li t2, 0xff8
    add t0, t0, t2
    ld a0, 0(t0)
    CHECK a0, 0xa3a4a5a6a7a87788
    TEST_NUM(41)                         /* crossing into a read-only page: mtval = the
                                          * first byte of the part that faults */
    li a1, 0x13ffc
    S_FAULT(41, CAUSE_STORE_PAGE_FAULT, 0x14000, sd a2, 0(a1))
    TEST_NUM(42)                         /* a 32-bit instruction split over two pages */
    S_OK(42, li a0, 5; li a1, 0xfffc; jalr ra, 0(a1))
    CHECK a0, 6
    TEST_NUM(43)                         /* patch its second half through the data
                                          * view, FENCE.I, run it again */
    li t0, 0x80820025                    /* addi a0, a0, 2 */
    S_OK(43, li a1, 0x11000; sw t0, 0(a1); fence.i; li a0, 5; li a1, 0xfffc; jalr ra, 0(a1))
    CHECK a0, 7

    /* ---- ASIDs: a satp write switching to another root with a fresh ASID needs no
     * SFENCE.VMA (4.1.11: no cached translations exist for an ASID not yet used) ---- */
    PT_LEAF_ABS rootb, 2, 0x80000000, PTE_RWX | PTE_AD
    PT_PTR rootb, 0, l1b
    PT_PTR l1b, 0, l0b
    PT_LEAF_SYM l0b, 1, page3, PTE_R | PTE_W | PTE_AD        /* VA 0x1000 -> page3 */
    la t0, page1
    li t1, 0x1111
    sd t1, 0(t0)
    la t0, page3
    li t1, 0x3333
    sd t1, 0(t0)
    TEST_NUM(44)                         /* root (ASID 1): VA 0x1000 is page1 */
    la t0, root
    srli t0, t0, 12
    li t1, SATP_MODE_SV39 | (1 << 44)
    or s8, t0, t1
    csrw satp, s8
    sfence.vma
    li a1, 0x1000
    S_OK(44, ld a0, 0(a1))
    CHECK a0, 0x1111
    TEST_NUM(45)                         /* rootb (ASID 2), no fence: page3 */
    la t0, rootb
    srli t0, t0, 12
    li t1, SATP_MODE_SV39 | (2 << 44)
    or s9, t0, t1
    csrw satp, s9
    S_OK(45, ld a0, 0(a1))
    CHECK a0, 0x3333
    TEST_NUM(46)                         /* back to root (ASID 1), no fence: page1 */
    csrw satp, s8
    S_OK(46, ld a0, 0(a1))
    CHECK a0, 0x1111
    TEST_NUM(47)                         /* SFENCE.VMA for ASID 1 only, after a PTE change */
    PT_LEAF_SYM l0, 1, page3, PTE_R | PTE_W | PTE_AD
    li t0, 1
    sfence.vma zero, t0
    S_OK(47, ld a0, 0(a1))
    CHECK a0, 0x3333
    PT_LEAF_SYM l0, 1, page1, PTE_R | PTE_W | PTE_AD
    sfence.vma
    csrw satp, zero
    sfence.vma

TEST_END

    .data
    .balign 4096
page6: .zero 4096                        /* not the physical successor of page5 */
rootb: .zero 4096
l1b:   .zero 4096
l0b:   .zero 4096
root:  .zero 4096
l1:    .zero 4096
l0:    .zero 4096
page1: .zero 4096
page2: .zero 4096
page3: .zero 4096
page4: .zero 4096
page5: .zero 4096
