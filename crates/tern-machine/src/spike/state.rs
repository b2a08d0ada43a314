//! A spike machine's state as plain data: the board walks its components and saves
//! each one's versioned state under its name ([`Sections`]): `board` (instructions
//! retired, where the HTIF mailboxes are), `clock`, `hart0`, `clint` and `htif` (for a
//! program that has mailboxes). Guest RAM is saved page by page by the caller.
//!
//! A restore rebuilds the board from its state alone ([`SpikeMachine::rebuild`]): the
//! program is not loaded again, its memory comes from the snapshot, and the HTIF
//! mailboxes sit where the board state says.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tern_devices::clint::Clint;
use tern_devices::htif::Htif;
use tern_hart::{GuestRam, Hart, HartConfig, IrqLines, VirtualClock};
use tern_state::{Decoder, Encoder, Persist, Sections, StateError, Versioned};

use super::{HtifWindow, SpikeBus, SpikeConfig, SpikeError, SpikeMachine, RAM_BASE};

/// The board's own state.
///
/// Encoded (version 1, kind `spike`) as a base holding the instructions retired and
/// a part `htif` with the mailbox addresses, written for a program that has them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpikeBoardState {
    /// Instructions retired.
    pub retired: u64,
    /// Guest physical addresses of `tohost` and `fromhost`, if the program has them.
    pub htif: Option<(u64, u64)>,
}

#[derive(Serialize, Deserialize)]
struct Mailboxes {
    tohost: u64,
    fromhost: u64,
}

impl Versioned for SpikeBoardState {
    const KIND: &'static str = "spike";
    const VERSION: u32 = 1;

    fn encode(&self, out: &mut Encoder) {
        out.base(&self.retired);
        if let Some((tohost, fromhost)) = self.htif {
            out.part("htif", true, &Mailboxes { tohost, fromhost });
        }
    }

    fn decode(input: &mut Decoder<'_>) -> Result<Self, StateError> {
        let retired = input.base()?;
        let htif = input
            .part::<Mailboxes>("htif")?
            .map(|m| (m.tohost, m.fromhost));
        Ok(SpikeBoardState { retired, htif })
    }
}

impl SpikeMachine {
    fn board_state(&self) -> SpikeBoardState {
        SpikeBoardState {
            retired: self.retired,
            htif: self.bus.htif.as_ref().map(|h| (h.tohost, h.fromhost)),
        }
    }

    /// Rebuilds a machine from `state` (what [`Persist::save`] gave) without loading a
    /// program: `fill` puts the saved guest memory into the fresh RAM before anything
    /// runs. `config` gives the RAM size, clock mode, limits and outputs, as when the
    /// machine was first built.
    pub fn rebuild(
        config: SpikeConfig,
        state: &Sections,
        fill: impl FnOnce(&GuestRam) -> Result<(), String>,
    ) -> Result<SpikeMachine, SpikeError> {
        let board: SpikeBoardState = state.clone().take("board")?;
        let mut ram = GuestRam::new(RAM_BASE, config.memory)?;
        if let Some((tohost, fromhost)) = board.htif {
            for a in [tohost, tohost + 7, fromhost, fromhost + 7] {
                if !ram.contains(a, 1) {
                    return Err(SpikeError::State(
                        StateError::mismatch(format!("HTIF mailbox {a:#x} is outside RAM"))
                            .within("state `board`"),
                    ));
                }
                ram.add_io_page(a);
            }
        }
        fill(&ram).map_err(SpikeError::Memory)?;
        let ram = Arc::new(ram);
        let clock = Arc::new(VirtualClock::new(config.clock));
        let lines = Arc::new(IrqLines::new());
        let mut hart = Hart::new(0, RAM_BASE, ram.clone(), lines.clone(), clock.clone());
        hart.set_trace(config.trace);
        // The only hart: its decoded code always matches memory (see `HartConfig`).
        hart.set_config(HartConfig {
            sole_hart: true,
            ..HartConfig::default()
        });
        let clint = Clint::new(vec![lines], clock.clone());
        let htif = board.htif.map(|(tohost, fromhost)| HtifWindow {
            device: Htif::new(ram.clone(), config.console),
            tohost,
            fromhost,
        });
        let mut machine =
            SpikeMachine::assemble(hart, SpikeBus { ram, clint, htif }, clock, config.max_insns);
        machine.restore(state)?;
        Ok(machine)
    }
}

/// A spike machine saves and restores by walking its components (see the module
/// documentation). It runs on one thread: save it when `run` has returned or through
/// [`super::SpikeHandle::save_state`] while paused.
impl Persist for SpikeMachine {
    type State = Sections;

    fn save(&self) -> Result<Sections, StateError> {
        let mut out = Sections::new();
        out.put("board", &self.board_state())?;
        out.save("clock", &&*self.clock)?;
        out.save("hart0", &self.hart)?;
        out.save("clint", &self.bus.clint)?;
        if let Some(h) = &self.bus.htif {
            out.save("htif", &h.device)?;
        }
        Ok(out)
    }

    fn restore(&mut self, state: &Sections) -> Result<(), StateError> {
        let mut saved = state.clone();
        let board: SpikeBoardState = saved.take("board")?;
        let here = self.board_state();
        if board.htif != here.htif {
            let show = |h: Option<(u64, u64)>| {
                h.map_or("none".to_string(), |(t, f)| format!("{t:#x}/{f:#x}"))
            };
            return Err(StateError::mismatch(format!(
                "HTIF mailboxes saved at {}, this machine's at {}",
                show(board.htif),
                show(here.htif)
            ))
            .within("state `board`"));
        }
        saved.restore("clock", &mut &*self.clock)?;
        saved.restore("hart0", &mut self.hart)?;
        saved.restore("clint", &mut self.bus.clint)?;
        if let Some(h) = &mut self.bus.htif {
            saved.restore("htif", &mut h.device)?;
        }
        self.retired = board.retired;
        self.control
            .retired
            .store(board.retired, std::sync::atomic::Ordering::Relaxed);
        saved
            .finish(|name| (name == "htif").then(|| "a program without HTIF mailboxes".to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_board_state_without_mailboxes_decodes() {
        let plain = SpikeBoardState {
            retired: 77,
            htif: None,
        };
        let with = SpikeBoardState {
            htif: Some((0x8000_1000, 0x8000_1008)),
            ..plain
        };
        let a = tern_state::to_bytes(&plain).unwrap();
        let b = tern_state::to_bytes(&with).unwrap();
        assert!(a.len() < b.len());
        assert_eq!(
            tern_state::from_bytes::<SpikeBoardState>(&a).unwrap(),
            plain
        );
        assert_eq!(tern_state::from_bytes::<SpikeBoardState>(&b).unwrap(), with);
    }
}
