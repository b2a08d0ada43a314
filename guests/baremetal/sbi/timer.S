/* The SBI timer, as an S-mode kernel uses it: program a deadline through SBI, wait for
 * the supervisor timer interrupt, and check that the next call clears it (SBI spec,
 * TIME extension: "clears the pending timer interrupt bit"). Run on the `virt` board
 * under any SBI firmware; prints "sbi-timer: ok" and powers off through SRST, or
 * prints "sbi-timer: FAIL <step>" and powers off with a failure. Both the TIME
 * extension (EID 0x54494D45) and the legacy call (EID 0) are tried. */
    .equ EID_TIME, 0x54494D45
    .equ EID_LEGACY_SET_TIMER, 0
    .equ EID_LEGACY_PUTCHAR, 1
    .equ EID_SRST, 0x53525354
    .equ SIP_STIP, 1 << 5
    .equ WAIT_TICKS, 100000          /* 10 ms at the virt board's 10 MHz */

    .section .text.init, "ax", @progbits
    .globl _start
_start:
    la sp, __stack_top
    la a0, msg_start
    call puts
    li s1, EID_TIME
    call one_round
    la a0, msg_legacy
    call puts
    li s1, EID_LEGACY_SET_TIMER
    call one_round
    la a0, msg_ok
    call puts
    li a0, 0                        /* shutdown */
    li a1, 0                        /* no reason */
    j srst

/* one_round: s1 = the EID to call set_timer through. */
one_round:
    addi sp, sp, -16
    sd ra, 0(sp)
    li t0, SIP_STIP
    csrw sie, t0                    /* STIE: the timer wakes wfi; SIE stays off */
    rdtime a0
    li t0, WAIT_TICKS
    add s2, a0, t0                  /* the deadline */
    mv a0, s2
    call set_timer
    li s3, 200000000                /* bound on the wait: a hang is a failure */
1:  csrr t0, sip
    andi t0, t0, SIP_STIP
    bnez t0, 2f
    addi s3, s3, -1
    beqz s3, fail_never
    wfi
    j 1b
2:  rdtime t0
    bltu t0, s2, fail_early
    li a0, -1                       /* no deadline: clears the pending bit */
    call set_timer
    csrr t0, sip
    andi t0, t0, SIP_STIP
    bnez t0, fail_not_cleared
    ld ra, 0(sp)
    addi sp, sp, 16
    ret

set_timer:
    mv a7, s1
    li a6, 0
    ecall
    ret

fail_never:
    la a0, msg_never
    j fail
fail_early:
    la a0, msg_early
    j fail
fail_not_cleared:
    la a0, msg_not_cleared
fail:
    call puts
    li a0, 0                        /* shutdown */
    li a1, 1                        /* system failure */
srst:
    li a7, EID_SRST
    li a6, 0
    ecall
3:  wfi
    j 3b

/* puts: a0 = NUL-terminated string, through the legacy console call. */
puts:
    mv t1, a0
1:  lbu a0, 0(t1)
    beqz a0, 2f
    li a7, EID_LEGACY_PUTCHAR
    li a6, 0
    ecall
    addi t1, t1, 1
    j 1b
2:  ret

    .section .rodata
msg_start:       .asciz "sbi-timer: TIME extension\n"
msg_legacy:      .asciz "sbi-timer: legacy set_timer\n"
msg_ok:          .asciz "sbi-timer: ok\n"
msg_never:       .asciz "sbi-timer: FAIL the timer interrupt never came\n"
msg_early:       .asciz "sbi-timer: FAIL the timer interrupt came before the deadline\n"
msg_not_cleared: .asciz "sbi-timer: FAIL set_timer did not clear the pending interrupt\n"
