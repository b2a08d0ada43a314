//! The riscv64 signal frame: built on the thread's stack to run a handler, and
//! read back by `rt_sigreturn` (arch/riscv/kernel/signal.c).
//!
//! `struct rt_sigframe { siginfo; ucontext }` holds the general registers (`pc` in
//! slot 0) and the D-extension state in `uc_mcontext`, the mask to restore and the
//! alternate stack; the handler returns through the trampoline on the signal page,
//! which makes the `rt_sigreturn` call. Both directions work on the calling thread's
//! kernel state ([`Task`]) and its registers, so they need no running hart.

use tern_hart::HartState;

use crate::mm::SIGPAGE;
use crate::signal::{self, frame, sig, AltStack, SigAction, SigInfo};
use crate::syscalls::Flow;
use crate::task::Task;

/// Builds the `rt_sigframe` and points the hart at the handler
/// (arch/riscv/kernel/signal.c `setup_rt_frame`).
pub fn setup(t: &mut Task, regs: &mut HartState, info: &SigInfo, act: SigAction) {
    let n = info.signo;
    let st = regs.clone();
    let sp = st.x[2];
    let on_alt = t.altstack.contains(sp);
    let base = if act.flags & signal::SA_ONSTACK != 0
        && t.altstack.flags & signal::SS_DISABLE == 0
        && !on_alt
    {
        t.altstack.sp.wrapping_add(t.altstack.size)
    } else {
        sp
    };
    let f = (base.wrapping_sub(frame::SIZE)) & !15;
    let mut b = vec![0u8; frame::SIZE as usize];
    b[..128].copy_from_slice(&info.to_bytes());
    let uc_stack = frame::UC_STACK as usize;
    b[uc_stack..uc_stack + 8].copy_from_slice(&t.altstack.sp.to_le_bytes());
    let flags = if t.altstack.flags & signal::SS_DISABLE != 0 {
        signal::SS_DISABLE
    } else if on_alt {
        signal::SS_ONSTACK
    } else {
        0
    };
    b[uc_stack + 8..uc_stack + 12].copy_from_slice(&flags.to_le_bytes());
    b[uc_stack + 16..uc_stack + 24].copy_from_slice(&t.altstack.size.to_le_bytes());
    let m = frame::UC_SIGMASK as usize;
    let saved = t.saved_mask.take().unwrap_or(t.sigmask);
    b[m..m + 8].copy_from_slice(&saved.to_le_bytes());
    let r = frame::REGS as usize;
    b[r..r + 8].copy_from_slice(&st.pc.to_le_bytes());
    for i in 1..32 {
        b[r + 8 * i..r + 8 * i + 8].copy_from_slice(&st.x[i].to_le_bytes());
    }
    let fp = frame::FPREGS as usize;
    for i in 0..32 {
        b[fp + 8 * i..fp + 8 * i + 8].copy_from_slice(&st.f[i].to_le_bytes());
    }
    let fcsr = (u32::from(st.frm) << 5) | u32::from(st.fflags);
    let fc = frame::FCSR as usize;
    b[fc..fc + 4].copy_from_slice(&fcsr.to_le_bytes());
    if t.proc.write_mem(f, &b).is_err() {
        signal::die_by_signal(sig::SIGSEGV);
    }
    let mut mask = t.sigmask | act.mask;
    if act.flags & signal::SA_NODEFER == 0 {
        mask |= signal::bit(n);
    }
    if act.flags & signal::SA_RESETHAND != 0 {
        // Only the handler goes back to SIG_DFL: the flags and mask stay, as in
        // kernel/signal.c's get_signal (`ka->sa.sa_handler = SIG_DFL`).
        let mut acts = t.proc.actions();
        acts[n as usize].handler = signal::SIG_DFL;
        signal::mirror_action(n, &acts[n as usize]);
    }
    t.set_mask(mask);
    let st = &mut *regs;
    st.pc = act.handler;
    st.x[1] = SIGPAGE;
    st.x[2] = f;
    st.x[10] = n as u64;
    st.x[11] = f;
    st.x[12] = f + frame::UC;
    st.reservation = None;
}

/// `rt_sigreturn`: restores the registers, mask and alternate stack saved in the
/// frame at `sp`.
pub fn sigreturn(t: &mut Task, regs: &mut HartState) -> Flow {
    let f = regs.x[2];
    let b = match t.proc.read_mem(f, frame::SIZE as usize) {
        Ok(b) => b,
        Err(_) => signal::die_by_signal(sig::SIGSEGV),
    };
    let word = |off: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[off..off + 8]);
        u64::from_le_bytes(w)
    };
    let m = frame::UC_SIGMASK as usize;
    let mask = word(m);
    let r = frame::REGS as usize;
    let fp = frame::FPREGS as usize;
    let fc = frame::FCSR as usize;
    let fcsr = u32::from_le_bytes([b[fc], b[fc + 1], b[fc + 2], b[fc + 3]]);
    let uc_stack = frame::UC_STACK as usize;
    let alt = AltStack {
        sp: word(uc_stack),
        flags: i32::from_le_bytes([
            b[uc_stack + 8],
            b[uc_stack + 9],
            b[uc_stack + 10],
            b[uc_stack + 11],
        ]),
        size: word(uc_stack + 16),
    };
    {
        let st = &mut *regs;
        st.pc = word(r);
        for i in 1..32 {
            st.x[i] = word(r + 8 * i);
        }
        for i in 0..32 {
            st.f[i] = word(fp + 8 * i);
        }
        st.fflags = (fcsr & 0x1f) as u8;
        st.frm = ((fcsr >> 5) & 7) as u8;
        st.reservation = None;
    }
    // restore_altstack: only a valid, non-active stack may be installed again.
    if !t.altstack.contains(regs.x[2]) {
        let flags = alt.flags & signal::SS_DISABLE;
        t.altstack = AltStack {
            sp: alt.sp,
            flags,
            size: alt.size,
        };
    }
    t.set_mask(mask);
    Flow::Keep
}
