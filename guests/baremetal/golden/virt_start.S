/* Start-up for the `virt` golden program (M-mode firmware given with --bios): one
 * stack, zeroed .bss, then main(); main's return value goes to the syscon test
 * device (0 = power off, else fail with that code). An unexpected trap prints its
 * cause through the UART and fails with 0x7f. */
    .section .text.init, "ax", @progbits
    .globl _start
_start:
    csrr t0, mhartid
    bnez t0, 9f
    la t0, trap_entry
    csrw mtvec, t0
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
    call virt_exit
9:  wfi
    j 9b

    .align 2
trap_entry:
    la sp, __stack_top
    csrr a0, mcause
    csrr a1, mepc
    call virt_unexpected_trap
    j 9b
