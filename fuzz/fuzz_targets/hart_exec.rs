//! Fuzz target: arbitrary bytes executed as code, in every privilege mode, with
//! arbitrary translation, status and PMP settings, for a bounded number of
//! instructions. Any panic or out-of-bounds host access is a bug (DESIGN.md invariant
//! 3: the guest cannot hurt the host).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tern_hart::fuzzing::run_random_machine(data, 20_000);
});
