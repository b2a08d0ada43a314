/* Start-up for the S-mode golden program, run as --kernel with tern as the SBI:
 * hart 0 enters at _start (a0 = hart id, a1 = device tree), other harts at
 * secondary_start when hart 0 starts them through SBI HSM (a1 = opaque). Each gets
 * its own stack; main's return value ends the machine through SBI SRST. An
 * unexpected trap prints its cause and fails. */
    .section .text.init, "ax", @progbits
    .globl _start
_start:
    la t0, trap_entry
    csrw stvec, t0
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
    call sbi_exit
3:  wfi
    j 3b

    .globl secondary_start
secondary_start:
    la t0, trap_entry
    csrw stvec, t0
    la sp, secondary_stack
    li t0, 4096
    add sp, sp, t0
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    call secondary_main
4:  wfi
    j 4b

    .align 2
trap_entry:
    la sp, __stack_top
    csrr a0, scause
    csrr a1, sepc
    call sbi_unexpected_trap
    j 3b
