//! Fuzz target: arbitrary bytes run as a machine on the interpreter and with the
//! translator (every block translated at once); the architectural state and RAM must
//! be the same afterwards (the translator's lockstep check).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = tern_hart::fuzzing::lockstep(data, 20_000) {
        panic!("interpreter and JIT differ: {e}");
    }
});
