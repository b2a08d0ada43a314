/* The HTIF mailboxes, alone in their page (see link.ld). QEMU requires both
 * symbols to be 8-byte objects. */
    .section .tohost, "aw", @progbits
    .align 6
    .globl tohost
    .type tohost, @object
    .size tohost, 8
tohost: .dword 0
    .align 6
    .globl fromhost
    .type fromhost, @object
    .size fromhost, 8
fromhost: .dword 0
