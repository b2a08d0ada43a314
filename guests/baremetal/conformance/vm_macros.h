/* Helpers for the virtual-memory tests (sv39.S, sv48.S, sv57.S, vm_priv.S): build page
 * tables at run time in M-mode, and run code in S- or U-mode expecting a trap or not.
 * Page-table entries follow privileged spec 4.3.1 / 4.4.1 / 4.5.1 / 4.6.1:
 * PPN in bits 53:10, flags in bits 7:0.
 */
#ifndef TERN_CONFORMANCE_VM_MACROS_H
#define TERN_CONFORMANCE_VM_MACROS_H

#define PTE_AD (PTE_A | PTE_D)
#define PTE_RWX (PTE_R | PTE_W | PTE_X)

/* t1 = address of entry `idx` of `table` (a label). */
.macro PT_SLOT table, idx
    la t1, \table
    li t2, 8 * (\idx)
    add t1, t1, t2
.endm

/* table[idx] = pointer (non-leaf) to the table at label `child`. */
.macro PT_PTR table, idx, child
    la t0, \child
    srli t0, t0, 12
    slli t0, t0, 10
    ori t0, t0, PTE_V
    PT_SLOT \table, \idx
    sd t0, 0(t1)
.endm

/* table[idx] = leaf for the physical address of label `sym` with `flags` (V added). */
.macro PT_LEAF_SYM table, idx, sym, flags
    la t0, \sym
    srli t0, t0, 12
    slli t0, t0, 10
    li t2, (\flags) | PTE_V
    or t0, t0, t2
    PT_SLOT \table, \idx
    sd t0, 0(t1)
.endm

/* table[idx] = leaf for the constant physical address `pa` with `flags` (V added). */
.macro PT_LEAF_ABS table, idx, pa, flags
    li t0, (((\pa) >> 12) << 10) | (\flags) | PTE_V
    PT_SLOT \table, \idx
    sd t0, 0(t1)
.endm

/* table[idx] = the raw value `pte`. */
.macro PT_RAW table, idx, pte
    li t0, \pte
    PT_SLOT \table, \idx
    sd t0, 0(t1)
.endm

/* reg = table[idx] (read back by M-mode, e.g. to see A/D updates). */
.macro PT_READ reg, table, idx
    PT_SLOT \table, \idx
    ld \reg, 0(t1)
.endm

/* satp = mode | PPN of label `root`; then SFENCE.VMA. */
.macro SATP_SET mode, root
    la t0, \root
    srli t0, t0, 12
    li t1, \mode
    or t0, t0, t1
    csrw satp, t0
    sfence.vma
.endm

/* Check n: `code...` in S-mode traps with `cause` and stval/mtval `tval` (to M-mode:
 * nothing is delegated), mepc at the first instruction of `code`. */
#define S_FAULT(n, cause, tval, code...) \
    TEST_NUM(n); RUN_IN MSTATUS_MPP_S, 7795f, 7796f; 7795: code; j fail; \
    7796: CHECK_TA TA_CAUSE, cause; CHECK_TA TA_TVAL, tval; CHECK_TA_ADDR TA_EPC, 7795b

/* Check n: `code...` runs in S-mode without trapping. */
#define S_OK(n, code...) \
    TEST_NUM(n); RUN_IN MSTATUS_MPP_S, 7797f, 7798f; 7797: code; ecall; \
    7798: CHECK_TA TA_CAUSE, CAUSE_SUPERVISOR_ECALL

#endif
