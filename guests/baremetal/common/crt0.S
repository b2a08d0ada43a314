/* Start-up for C programs on the spike board: one stack, zeroed .bss, FPU on,
 * then main(); main's return value becomes the HTIF exit status. Harts other
 * than 0 park in wfi. Traps print mcause/mepc/mtval and exit with status 0x7f. */
    .section .text.init, "ax", @progbits
    .globl _start
_start:
    csrr t0, mhartid
    bnez t0, 9f
    la t0, trap_entry
    csrw mtvec, t0
    li t0, (1 << 13)            /* mstatus.FS = Initial */
    csrs mstatus, t0
    csrwi fcsr, 0
    la sp, __stack_top
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    la t0, __bss_start
    la t1, __bss_end
1:  bgeu t0, t1, 2f
    sd zero, 0(t0)
    addi t0, t0, 8
    j 1b
2:  call main
    call htif_exit_status
9:  wfi
    j 9b

    .align 2
trap_entry:
    la sp, __stack_top
    csrr a0, mcause
    csrr a1, mepc
    csrr a2, mtval
    call crt_unexpected_trap
    j 9b
