//! Arbitrary bytes as code, page tables and CSR settings never panic the host, and
//! leave the architectural state consistent (the same harness as the fuzz target,
//! run on the stable toolchain with proptest).

use proptest::prelude::*;
use tern_hart::fuzzing::{run_random_machine, RAM_BASE};

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_machines_do_not_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let hart = run_random_machine(&data, 20_000);
        let s = hart.state();
        prop_assert_eq!(s.x[0], 0);
        prop_assert_eq!(s.pc % 2, 0);
        prop_assert!(s.fflags < 32 && s.frm < 8);
    }

    /// Streams of valid-looking 32-bit instructions (low bits 11) reach far more of the
    /// decoder and executor than uniform bytes.
    #[test]
    fn random_instruction_streams_do_not_panic(words in proptest::collection::vec(any::<u32>(), 64..1024)) {
        let mut data = Vec::with_capacity(words.len() * 4);
        for w in words {
            data.extend_from_slice(&(w | 3).to_le_bytes());
        }
        let hart = run_random_machine(&data, 20_000);
        prop_assert_eq!(hart.state().x[0], 0);
        let _ = RAM_BASE;
    }
}
