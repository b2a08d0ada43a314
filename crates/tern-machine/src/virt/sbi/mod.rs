//! tern's own SBI implementation: the supervisor's hypercall interface when no
//! firmware is given (`tern run` without `--bios`).
//!
//! The kernel runs in S-mode; its `ecall`s come to the host (the hart's
//! `sbi_ecalls_exit`) and are answered here, following the RISC-V Supervisor Binary
//! Interface specification v2.0: Base, legacy (v0.1) calls, TIME, IPI, RFENCE, HSM,
//! SRST and DBCN. Calls take arguments in a0–a5, the function id in a6 and the
//! extension id in a7; the result is an error code in a0 and a value in a1.

mod calls;
pub mod policy;

pub use calls::{handle, Platform};

/// Extension ids (the ASCII names of the specification).
pub mod eid {
    /// Legacy `sbi_set_timer`.
    pub const LEGACY_SET_TIMER: u64 = 0x00;
    /// Legacy `sbi_console_putchar`.
    pub const LEGACY_PUTCHAR: u64 = 0x01;
    /// Legacy `sbi_console_getchar`.
    pub const LEGACY_GETCHAR: u64 = 0x02;
    /// Legacy `sbi_clear_ipi`.
    pub const LEGACY_CLEAR_IPI: u64 = 0x03;
    /// Legacy `sbi_send_ipi`.
    pub const LEGACY_SEND_IPI: u64 = 0x04;
    /// Legacy `sbi_remote_fence_i`.
    pub const LEGACY_FENCE_I: u64 = 0x05;
    /// Legacy `sbi_remote_sfence_vma`.
    pub const LEGACY_SFENCE_VMA: u64 = 0x06;
    /// Legacy `sbi_remote_sfence_vma_asid`.
    pub const LEGACY_SFENCE_VMA_ASID: u64 = 0x07;
    /// Legacy `sbi_shutdown`.
    pub const LEGACY_SHUTDOWN: u64 = 0x08;
    /// Base.
    pub const BASE: u64 = 0x10;
    /// Timer ("TIME").
    pub const TIME: u64 = 0x5449_4d45;
    /// IPI ("sPI").
    pub const IPI: u64 = 0x0073_5049;
    /// Remote fence ("RFNC").
    pub const RFENCE: u64 = 0x5246_4e43;
    /// Hart state management ("HSM").
    pub const HSM: u64 = 0x0048_534d;
    /// System reset ("SRST").
    pub const SRST: u64 = 0x5352_5354;
    /// Debug console ("DBCN").
    pub const DBCN: u64 = 0x4442_434e;
}

/// SBI error codes.
pub mod error {
    /// Success.
    pub const SUCCESS: i64 = 0;
    /// Failed.
    pub const FAILED: i64 = -1;
    /// Not supported.
    pub const NOT_SUPPORTED: i64 = -2;
    /// Invalid parameter.
    pub const INVALID_PARAM: i64 = -3;
    /// Invalid address.
    pub const INVALID_ADDRESS: i64 = -5;
    /// Already started.
    pub const ALREADY_STARTED: i64 = -7;
}

/// HSM hart states (SBI §9).
pub mod hsm {
    /// Running.
    pub const STARTED: u64 = 0;
    /// Stopped, waiting for `hart_start`.
    pub const STOPPED: u64 = 1;
    /// Suspended.
    pub const SUSPENDED: u64 = 4;
}

/// The specification version implemented: 2.0.
pub const SPEC_VERSION: u64 = 2 << 24;
/// Implementation id reported by `sbi_get_impl_id` (not a registered id; OpenSBI is 1).
pub const IMPL_ID: u64 = 0x7465_726e; // "tern"

/// One SBI call as the guest made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    /// Extension id (a7).
    pub eid: u64,
    /// Function id (a6).
    pub fid: u64,
    /// Arguments (a0–a5).
    pub args: [u64; 6],
}

/// What the guest sees after the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Return `error` in a0 and `value` in a1 (legacy calls: only a0 = value).
    Return {
        /// a0.
        error: i64,
        /// a1.
        value: u64,
    },
    /// Legacy calls return one value in a0 and leave a1 alone.
    Legacy(u64),
    /// The calling hart stops (HSM `hart_stop`): it waits for a `hart_start`.
    Stop,
    /// The calling hart suspends until an interrupt is pending; then it resumes at
    /// `resume` (non-retentive, with a0 = hartid, a1 = opaque) or after the call.
    Suspend {
        /// `Some((resume_addr, opaque))` for a non-retentive suspend.
        resume: Option<(u64, u64)>,
    },
    /// The whole machine stops: shutdown (`reboot = false`) or reboot.
    Reset {
        /// Reboot rather than power off.
        reboot: bool,
        /// The guest reported a system failure.
        failure: bool,
    },
}

impl Outcome {
    fn ok(value: u64) -> Outcome {
        Outcome::Return {
            error: error::SUCCESS,
            value,
        }
    }

    fn err(error: i64) -> Outcome {
        Outcome::Return { error, value: 0 }
    }
}
