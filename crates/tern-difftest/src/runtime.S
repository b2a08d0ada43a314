/* Fixed runtime of every difftest batch (see asm.rs): start-up, the state dump, the
 * HTIF console and the trap handler. None of it reads the random state except through
 * `dt_save`, which each program's DUMP macro fills before calling `dt_dump`.
 *
 * Console format, one line each (all numbers 16 hex digits):
 *   P<index>                       start of program <index>'s dump
 *   x1..x31, f0..f31 (raw), fcsr   64 lines
 *   checksum                       FNV-1a 64 over the program's scratch buffer
 *   [buffer]                       the buffer as dwords, when the DUMP asked for it
 *   T <mcause> <mepc> <mtval>      a trap (printed when it happens)
 *   DONE                           after the last program
 * An unexpected trap (or any trap when `dt_allow_traps` is 0) prints
 * "unexpected trap" and exits with status 0x7f. */
    .option norelax
    .option norvc

    .section .text.init, "ax", @progbits
    .globl _start
_start:
    la t0, dt_trap_entry
    csrw mtvec, t0
    li t0, (1 << 13)            /* mstatus.FS = Initial */
    csrs mstatus, t0
    csrwi fcsr, 0
    j programs_start

    .text
/* After the last program. */
    .globl dt_done
dt_done:
    la a0, dt_msg_done
    call dt_puts
    li a0, 0
    j dt_exit

/* dt_exit(a0 = status): HTIF exit; never returns. */
    .globl dt_exit
dt_exit:
    slli a0, a0, 1
    ori a0, a0, 1
    la t1, tohost
1:  sd a0, 0(t1)
    j 1b

/* dt_putc(a0 = byte); clobbers t0, t1. */
dt_putc:
    la t1, tohost
1:  ld t0, 0(t1)
    bnez t0, 1b
    li t0, 0x0101000000000000
    andi a0, a0, 0xff
    or t0, t0, a0
    sd t0, 0(t1)
2:  ld t0, 0(t1)
    bnez t0, 2b
    la t1, fromhost
    sd zero, 0(t1)
    ret

/* dt_puts(a0 = NUL-terminated string); clobbers a0, a1, t0-t2. */
dt_puts:
    mv t2, ra
    mv a1, a0
1:  lbu a0, 0(a1)
    beqz a0, 2f
    call dt_putc
    addi a1, a1, 1
    j 1b
2:  mv ra, t2
    ret

/* dt_puthex(a0 = value): 16 hex digits; clobbers a0-a2, t0-t4. */
dt_puthex:
    mv t4, ra
    mv a1, a0
    li a2, 60
1:  srl a0, a1, a2
    andi a0, a0, 15
    li t3, 10
    blt a0, t3, 2f
    addi a0, a0, 'a' - 10 - '0'
2:  addi a0, a0, '0'
    call dt_putc
    addi a2, a2, -4
    bgez a2, 1b
    mv ra, t4
    ret

/* dt_dump(a0 = program index, a1 = buffer, a2 = buffer bytes, a3 = print buffer):
 * prints the state saved in dt_save and the buffer's checksum. */
    .globl dt_dump
dt_dump:
    mv s0, a0
    mv s1, a1
    mv s2, a2
    mv s3, ra
    mv s6, a3
    li a0, 'P'
    call dt_putc
    mv a0, s0
    call dt_puthex
    li a0, '\n'
    call dt_putc
    la s4, dt_save + 8
    li s5, 64
1:  ld a0, 0(s4)
    call dt_puthex
    li a0, '\n'
    call dt_putc
    addi s4, s4, 8
    addi s5, s5, -1
    bnez s5, 1b
    /* FNV-1a 64 over the buffer. */
    li a0, 0xcbf29ce484222325
    li t0, 0x100000001b3
    mv t1, s1
    add t2, s1, s2
2:  lbu t3, 0(t1)
    xor a0, a0, t3
    mul a0, a0, t0
    addi t1, t1, 1
    bltu t1, t2, 2b
    call dt_puthex
    li a0, '\n'
    call dt_putc
    beqz s6, 4f
    mv s4, s1
    add s5, s1, s2
3:  ld a0, 0(s4)
    call dt_puthex
    li a0, '\n'
    call dt_putc
    addi s4, s4, 8
    bltu s4, s5, 3b
4:  mv ra, s3
    ret

/* Traps: print cause, pc and tval; skip the instruction if the batch allows traps. */
    .align 2
dt_trap_entry:
    csrw mscratch, x31
    la x31, dt_trap_save
    sd x1, 8(x31)
    sd x2, 16(x31)
    sd x3, 24(x31)
    sd x4, 32(x31)
    sd x5, 40(x31)
    sd x6, 48(x31)
    sd x7, 56(x31)
    sd x8, 64(x31)
    sd x9, 72(x31)
    sd x10, 80(x31)
    sd x11, 88(x31)
    sd x12, 96(x31)
    sd x13, 104(x31)
    sd x14, 112(x31)
    sd x15, 120(x31)
    sd x16, 128(x31)
    sd x17, 136(x31)
    sd x18, 144(x31)
    sd x19, 152(x31)
    sd x20, 160(x31)
    sd x21, 168(x31)
    sd x22, 176(x31)
    sd x23, 184(x31)
    sd x24, 192(x31)
    sd x25, 200(x31)
    sd x26, 208(x31)
    sd x27, 216(x31)
    sd x28, 224(x31)
    sd x29, 232(x31)
    sd x30, 240(x31)
    csrr x30, mscratch
    sd x30, 248(x31)
    csrr s0, mcause
    csrr s1, mepc
    csrr s2, mtval
    li a0, 'T'
    call dt_putc
    li a0, ' '
    call dt_putc
    mv a0, s0
    call dt_puthex
    li a0, ' '
    call dt_putc
    mv a0, s1
    call dt_puthex
    li a0, ' '
    call dt_putc
    mv a0, s2
    call dt_puthex
    li a0, '\n'
    call dt_putc
    la t0, dt_allow_traps
    ld t0, 0(t0)
    beqz t0, 9f
    li t0, 2                    /* illegal instruction */
    beq s0, t0, 1f
    li t0, 3                    /* breakpoint */
    beq s0, t0, 1f
    li t0, 4                    /* load address misaligned (LR) */
    beq s0, t0, 1f
    li t0, 5                    /* load access fault */
    beq s0, t0, 1f
    li t0, 6                    /* store/AMO address misaligned */
    beq s0, t0, 1f
    li t0, 7                    /* store/AMO access fault */
    beq s0, t0, 1f
    li t0, 11                   /* ecall from M-mode */
    beq s0, t0, 1f
9:  la a0, dt_msg_unexpected
    call dt_puts
    li a0, 0x7f
    j dt_exit
    /* Skip the trapping instruction: 4 bytes if its low bits are 11, else 2. */
1:  lhu t0, 0(s1)
    andi t0, t0, 3
    li t1, 3
    addi s1, s1, 2
    bne t0, t1, 2f
    addi s1, s1, 2
2:  csrw mepc, s1
    la x31, dt_trap_save
    ld x1, 8(x31)
    ld x2, 16(x31)
    ld x3, 24(x31)
    ld x4, 32(x31)
    ld x5, 40(x31)
    ld x6, 48(x31)
    ld x7, 56(x31)
    ld x8, 64(x31)
    ld x9, 72(x31)
    ld x10, 80(x31)
    ld x11, 88(x31)
    ld x12, 96(x31)
    ld x13, 104(x31)
    ld x14, 112(x31)
    ld x15, 120(x31)
    ld x16, 128(x31)
    ld x17, 136(x31)
    ld x18, 144(x31)
    ld x19, 152(x31)
    ld x20, 160(x31)
    ld x21, 168(x31)
    ld x22, 176(x31)
    ld x23, 184(x31)
    ld x24, 192(x31)
    ld x25, 200(x31)
    ld x26, 208(x31)
    ld x27, 216(x31)
    ld x28, 224(x31)
    ld x29, 232(x31)
    ld x30, 240(x31)
    ld x31, 248(x31)
    mret

    .section .rodata
dt_msg_done:
    .string "DONE\n"
dt_msg_unexpected:
    .string "unexpected trap\n"

    .bss
    .balign 8
    .globl dt_save
/* x1..x31 at 8*i, f0..f31 at 256 + 8*i, fcsr at 512. */
dt_save:
    .space 520
dt_trap_save:
    .space 256
