//! Dispatch of SBI calls to the machine.

use super::{eid, error, Call, Outcome, IMPL_ID, SPEC_VERSION};

/// What the SBI needs from the machine. Hart masks are resolved by the caller
/// (`None` = all harts).
pub trait Platform {
    /// Number of harts.
    fn harts(&self) -> usize;
    /// Programs hart `hart`'s supervisor timer (and clears its pending STIP).
    fn set_timer(&mut self, hart: usize, deadline: u64);
    /// Raises a supervisor software interrupt on each hart of `harts`.
    fn send_ipi(&mut self, harts: &[usize]);
    /// Makes `harts` drop decoded code (`fence.i`) and waits until they have.
    fn fence_i(&mut self, harts: &[usize]);
    /// Makes `harts` drop cached translations and waits until they have.
    fn sfence_vma(&mut self, harts: &[usize]);
    /// Starts stopped hart `hart` at `addr` in S-mode with a1 = `opaque`.
    /// Returns an SBI error code.
    fn hart_start(&mut self, hart: usize, addr: u64, opaque: u64) -> i64;
    /// The HSM state of `hart`.
    fn hart_status(&self, hart: usize) -> u64;
    /// Writes bytes to the console.
    fn console_write(&mut self, bytes: &[u8]);
    /// Reads a byte from the console, if one is waiting.
    fn console_read(&mut self) -> Option<u8>;
    /// Reads guest physical memory (for the debug console); false if out of RAM.
    fn read_phys(&self, addr: u64, buf: &mut [u8]) -> bool;
    /// Writes guest physical memory; false if out of RAM.
    fn write_phys(&mut self, addr: u64, data: &[u8]) -> bool;
}

/// The harts named by an SBI hart mask: bit i of `mask` means hart `base + i`;
/// `base == -1` means all harts. `None` if the mask names a hart that does not exist.
fn hart_list(harts: usize, mask: u64, base: u64) -> Option<Vec<usize>> {
    if base == u64::MAX {
        return Some((0..harts).collect());
    }
    let mut list = Vec::new();
    for bit in 0..64 {
        if mask & (1 << bit) != 0 {
            let hart = base.checked_add(bit)?;
            if hart >= harts as u64 {
                return None;
            }
            list.push(hart as usize);
        }
    }
    Some(list)
}

fn supported(ext: u64) -> bool {
    matches!(
        ext,
        eid::LEGACY_SET_TIMER
            ..=eid::LEGACY_SHUTDOWN
                | eid::BASE
                | eid::TIME
                | eid::IPI
                | eid::RFENCE
                | eid::HSM
                | eid::SRST
                | eid::DBCN
    )
}

/// Handles `call` made by hart `hart`.
pub fn handle<P: Platform>(p: &mut P, hart: usize, call: Call) -> Outcome {
    let a = call.args;
    let all: Vec<usize> = (0..p.harts()).collect();
    match call.eid {
        eid::LEGACY_SET_TIMER => {
            p.set_timer(hart, a[0]);
            Outcome::Legacy(0)
        }
        eid::LEGACY_PUTCHAR => {
            p.console_write(&[a[0] as u8]);
            Outcome::Legacy(0)
        }
        eid::LEGACY_GETCHAR => Outcome::Legacy(p.console_read().map_or(u64::MAX, u64::from)),
        // The legacy mask is a pointer into S-mode memory: serving all harts is always
        // correct (an extra IPI or fence is harmless), so it is not read.
        eid::LEGACY_CLEAR_IPI => Outcome::Legacy(0),
        eid::LEGACY_SEND_IPI => {
            p.send_ipi(&all);
            Outcome::Legacy(0)
        }
        eid::LEGACY_FENCE_I => {
            p.fence_i(&all);
            Outcome::Legacy(0)
        }
        eid::LEGACY_SFENCE_VMA | eid::LEGACY_SFENCE_VMA_ASID => {
            p.sfence_vma(&all);
            Outcome::Legacy(0)
        }
        eid::LEGACY_SHUTDOWN => Outcome::Reset {
            reboot: false,
            failure: false,
        },
        eid::BASE => match call.fid {
            0 => Outcome::ok(SPEC_VERSION),
            1 => Outcome::ok(IMPL_ID),
            2 => Outcome::ok(1),
            3 => Outcome::ok(u64::from(supported(a[0]))),
            4..=6 => Outcome::ok(0),
            _ => Outcome::err(error::NOT_SUPPORTED),
        },
        eid::TIME if call.fid == 0 => {
            p.set_timer(hart, a[0]);
            Outcome::ok(0)
        }
        eid::IPI if call.fid == 0 => match hart_list(p.harts(), a[0], a[1]) {
            Some(list) => {
                p.send_ipi(&list);
                Outcome::ok(0)
            }
            None => Outcome::err(error::INVALID_PARAM),
        },
        eid::RFENCE => match (call.fid, hart_list(p.harts(), a[0], a[1])) {
            (0, Some(list)) => {
                p.fence_i(&list);
                Outcome::ok(0)
            }
            (1 | 2, Some(list)) => {
                p.sfence_vma(&list);
                Outcome::ok(0)
            }
            (0..=2, None) => Outcome::err(error::INVALID_PARAM),
            _ => Outcome::err(error::NOT_SUPPORTED),
        },
        eid::HSM => match call.fid {
            0 => {
                let target = a[0];
                if target >= p.harts() as u64 {
                    return Outcome::err(error::INVALID_PARAM);
                }
                let e = p.hart_start(target as usize, a[1], a[2]);
                Outcome::err(e)
            }
            1 => Outcome::Stop,
            2 => {
                if a[0] >= p.harts() as u64 {
                    return Outcome::err(error::INVALID_PARAM);
                }
                Outcome::ok(p.hart_status(a[0] as usize))
            }
            3 => match a[0] as u32 {
                0 => Outcome::Suspend { resume: None },
                0x8000_0000 => Outcome::Suspend {
                    resume: Some((a[1], a[2])),
                },
                _ => Outcome::err(error::INVALID_PARAM),
            },
            _ => Outcome::err(error::NOT_SUPPORTED),
        },
        eid::SRST if call.fid == 0 => match (a[0] as u32, a[1] as u32) {
            (0, reason) => Outcome::Reset {
                reboot: false,
                failure: reason == 1,
            },
            (1 | 2, reason) => Outcome::Reset {
                reboot: true,
                failure: reason == 1,
            },
            _ => Outcome::err(error::INVALID_PARAM),
        },
        eid::DBCN => match call.fid {
            0 => {
                let len = a[0].min(4096) as usize;
                let mut buf = vec![0u8; len];
                if !p.read_phys(a[1], &mut buf) {
                    return Outcome::err(error::INVALID_PARAM);
                }
                p.console_write(&buf);
                Outcome::ok(len as u64)
            }
            1 => {
                let mut buf = Vec::new();
                while (buf.len() as u64) < a[0].min(4096) {
                    match p.console_read() {
                        Some(b) => buf.push(b),
                        None => break,
                    }
                }
                if !p.write_phys(a[1], &buf) {
                    return Outcome::err(error::INVALID_PARAM);
                }
                Outcome::ok(buf.len() as u64)
            }
            2 => {
                p.console_write(&[a[0] as u8]);
                Outcome::ok(0)
            }
            _ => Outcome::err(error::NOT_SUPPORTED),
        },
        _ => Outcome::err(error::NOT_SUPPORTED),
    }
}

#[cfg(test)]
mod tests {
    use super::super::hsm;
    use super::*;

    #[derive(Default)]
    struct Fake {
        timer: Option<(usize, u64)>,
        ipis: Vec<usize>,
        out: Vec<u8>,
        started: Vec<(usize, u64, u64)>,
    }

    impl Platform for Fake {
        fn harts(&self) -> usize {
            4
        }
        fn set_timer(&mut self, hart: usize, deadline: u64) {
            self.timer = Some((hart, deadline));
        }
        fn send_ipi(&mut self, harts: &[usize]) {
            self.ipis.extend_from_slice(harts);
        }
        fn fence_i(&mut self, _: &[usize]) {}
        fn sfence_vma(&mut self, _: &[usize]) {}
        fn hart_start(&mut self, hart: usize, addr: u64, opaque: u64) -> i64 {
            self.started.push((hart, addr, opaque));
            0
        }
        fn hart_status(&self, _: usize) -> u64 {
            hsm::STOPPED
        }
        fn console_write(&mut self, bytes: &[u8]) {
            self.out.extend_from_slice(bytes);
        }
        fn console_read(&mut self) -> Option<u8> {
            None
        }
        fn read_phys(&self, addr: u64, buf: &mut [u8]) -> bool {
            buf.fill(b'x');
            addr == 0x8000_0000
        }
        fn write_phys(&mut self, _: u64, _: &[u8]) -> bool {
            true
        }
    }

    fn call(eid: u64, fid: u64, args: &[u64]) -> Call {
        let mut a = [0u64; 6];
        a[..args.len()].copy_from_slice(args);
        Call { eid, fid, args: a }
    }

    #[test]
    fn base_timer_ipi_hsm_dbcn() {
        let mut p = Fake::default();
        assert_eq!(
            handle(&mut p, 0, call(eid::BASE, 0, &[])),
            Outcome::ok(SPEC_VERSION)
        );
        assert_eq!(
            handle(&mut p, 0, call(eid::BASE, 3, &[eid::HSM])),
            Outcome::ok(1)
        );
        assert_eq!(
            handle(&mut p, 0, call(eid::BASE, 3, &[0x1234])),
            Outcome::ok(0)
        );
        handle(&mut p, 2, call(eid::TIME, 0, &[777]));
        assert_eq!(p.timer, Some((2, 777)));
        handle(&mut p, 0, call(eid::IPI, 0, &[0b101, 1]));
        assert_eq!(p.ipis, vec![1, 3]);
        assert_eq!(
            handle(&mut p, 0, call(eid::IPI, 0, &[0b1000, 1])),
            Outcome::err(error::INVALID_PARAM)
        );
        handle(&mut p, 0, call(eid::HSM, 0, &[3, 0x8020_0000, 9]));
        assert_eq!(p.started, vec![(3, 0x8020_0000, 9)]);
        assert_eq!(
            handle(&mut p, 0, call(eid::HSM, 0, &[4, 0, 0])),
            Outcome::err(error::INVALID_PARAM)
        );
        assert_eq!(
            handle(&mut p, 0, call(eid::DBCN, 0, &[3, 0x8000_0000, 0])),
            Outcome::ok(3)
        );
        assert_eq!(p.out, b"xxx");
        assert_eq!(
            handle(&mut p, 0, call(eid::DBCN, 0, &[3, 0x1000, 0])),
            Outcome::err(error::INVALID_PARAM)
        );
        assert_eq!(
            handle(&mut p, 0, call(eid::SRST, 0, &[0, 0])),
            Outcome::Reset {
                reboot: false,
                failure: false
            }
        );
        assert_eq!(
            handle(&mut p, 0, call(0x0a00_0000, 0, &[])),
            Outcome::err(error::NOT_SUPPORTED)
        );
    }
}
