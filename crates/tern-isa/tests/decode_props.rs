//! Properties of `decode` over arbitrary input: the decoder runs on untrusted
//! guest code, so it must never panic and must describe every word consistently.

use proptest::prelude::*;
use tern_isa::{decode, inst_len, Op};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200_000))]

    #[test]
    fn decode_is_total_and_consistent(bits in any::<u32>()) {
        let inst = decode(bits);
        let len = inst_len(bits as u16);
        prop_assert_eq!(inst.len, len);
        if len == 2 {
            // Only the low parcel matters for a compressed instruction.
            prop_assert_eq!(inst.raw, bits & 0xffff);
            prop_assert_eq!(decode(bits & 0xffff), inst);
            prop_assert_eq!(decode(bits | 0xffff_0000), inst);
        } else {
            prop_assert_eq!(inst.raw, bits);
        }
        prop_assert!(inst.rd < 32 && inst.rs1 < 32 && inst.rs2 < 32 && inst.rs3 < 32);
        prop_assert!(inst.rm < 8);
        if inst.op == Op::Illegal {
            prop_assert_eq!((inst.imm, inst.rd, inst.rs1, inst.rs2, inst.rs3, inst.rm), (0, 0, 0, 0, 0, 0));
        }
        // Disassembly of anything is defined too.
        let text = inst.to_string();
        prop_assert!(!text.is_empty());
        let _ = inst.display_at(u64::MAX - 1).to_string();
    }

    #[test]
    fn immediates_stay_in_their_ranges(bits in any::<u32>()) {
        let inst = decode(bits);
        match inst.op {
            op if op.is_branch() => prop_assert!(inst.imm % 2 == 0 && (-4096..4096).contains(&inst.imm)),
            Op::Jal => prop_assert!(inst.imm % 2 == 0 && (-(1 << 20)..(1 << 20)).contains(&inst.imm)),
            Op::Lui | Op::Auipc => prop_assert_eq!(inst.imm & 0xfff, 0),
            Op::Slli | Op::Srli | Op::Srai | Op::Rori | Op::SlliUw | Op::Bclri | Op::Bexti
            | Op::Binvi | Op::Bseti => prop_assert!((0..64).contains(&inst.imm)),
            Op::Slliw | Op::Srliw | Op::Sraiw | Op::Roriw => prop_assert!((0..32).contains(&inst.imm)),
            Op::Fence => prop_assert!((0..4096).contains(&inst.imm)),
            op if op.is_csr() => prop_assert!((0..4096).contains(&inst.imm)),
            op if op.is_atomic() => prop_assert!(inst.rm < 4),
            _ => {}
        }
    }
}

/// Every 16-bit parcel, exhaustively (there are only 49152 compressed ones).
#[test]
fn every_parcel_decodes() {
    for h in 0..=u16::MAX {
        let inst = decode(u32::from(h));
        assert_eq!(inst.len, inst_len(h));
        let _ = inst.to_string();
    }
}
