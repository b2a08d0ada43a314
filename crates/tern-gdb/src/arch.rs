//! The RISC-V 64 architecture as tern describes it to gdb: x0–x31 and pc, the F/D
//! registers, and the CSRs, through a target description (gdbstub_arch's riscv64
//! covers x0–x31 and pc only, so `p $ft0` or `p $mstatus` would fail).
//!
//! Register numbers follow gdb's RISC-V convention, so that gdb's own names and
//! groups apply: x0–x31 are 0–31, pc 32, f0–f31 33–64, CSR n is 65 + n (`fflags` 66,
//! `frm` 67, `fcsr` 68, `mstatus` 833), and the privilege level (`$priv`, gdb's
//! "virtual" register) 4161. The `g` packet carries x0–x31, pc and f0–f31; gdb reads
//! the CSRs one by one (`p`).

use std::fmt::Write;
use std::num::NonZeroUsize;
use std::sync::OnceLock;

use gdbstub::arch::{Arch, RegId, Registers};
use tern_hart::csr::num;

/// gdb's register number of the first CSR.
pub const CSR_BASE: usize = 65;
/// gdb's register number of the privilege level (`$priv`).
pub const PRIV_REGNUM: usize = CSR_BASE + 4096;

/// The registers of the `g` packet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Regs {
    /// x0–x31.
    pub x: [u64; 32],
    /// pc.
    pub pc: u64,
    /// f0–f31 (raw bits; singles NaN-boxed).
    pub f: [u64; 32],
}

impl Registers for Regs {
    type ProgramCounter = u64;

    fn pc(&self) -> u64 {
        self.pc
    }

    fn gdb_serialize(&self, mut write_byte: impl FnMut(Option<u8>)) {
        let words = self.x.iter().chain([&self.pc]).chain(self.f.iter());
        for w in words {
            for b in w.to_le_bytes() {
                write_byte(Some(b));
            }
        }
    }

    fn gdb_deserialize(&mut self, bytes: &[u8]) -> Result<(), ()> {
        let words: Vec<u64> = bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect();
        if words.len() < 33 {
            return Err(());
        }
        self.x.copy_from_slice(&words[..32]);
        self.pc = words[32];
        if words.len() >= 65 {
            self.f.copy_from_slice(&words[33..65]);
        }
        Ok(())
    }
}

/// One register gdb names by number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reg {
    /// x0–x31.
    X(u8),
    /// The program counter.
    Pc,
    /// f0–f31.
    F(u8),
    /// A CSR by number.
    Csr(u16),
    /// The privilege level (0 U, 1 S, 3 M).
    Priv,
}

impl RegId for Reg {
    fn from_raw_id(id: usize) -> Option<(Reg, Option<NonZeroUsize>)> {
        let reg = match id {
            0..=31 => Reg::X(id as u8),
            32 => Reg::Pc,
            33..=64 => Reg::F((id - 33) as u8),
            PRIV_REGNUM => Reg::Priv,
            n if (CSR_BASE..CSR_BASE + 4096).contains(&n) => Reg::Csr((n - CSR_BASE) as u16),
            _ => return None,
        };
        Some((reg, NonZeroUsize::new(8)))
    }
}

/// RV64GC with tern's CSRs.
pub enum Riscv64 {}

impl Arch for Riscv64 {
    type Usize = u64;
    type Registers = Regs;
    type BreakpointKind = usize;
    type RegId = Reg;

    fn target_description_xml() -> Option<&'static str> {
        static XML: OnceLock<String> = OnceLock::new();
        Some(XML.get_or_init(|| target_xml(true)))
    }
}

/// ABI names of x0–x31, which gdb shows.
const X_NAMES: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "fp", "s1", "a0", "a1", "a2", "a3", "a4",
    "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
    "t5", "t6",
];

/// ABI names of f0–f31.
const F_NAMES: [&str; 32] = [
    "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2",
    "fa3", "fa4", "fa5", "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9",
    "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
];

/// The CSRs offered to gdb besides the floating-point ones: every CSR this hart
/// implements that a debugger reads without side effects (`time` is left out: it
/// lives in the VM's clock, not in the hart).
pub fn system_csrs() -> Vec<(&'static str, u16)> {
    let mut v = vec![
        ("cycle", num::CYCLE),
        ("instret", num::INSTRET),
        ("sstatus", num::SSTATUS),
        ("sie", num::SIE),
        ("stvec", num::STVEC),
        ("scounteren", num::SCOUNTEREN),
        ("senvcfg", num::SENVCFG),
        ("sscratch", num::SSCRATCH),
        ("sepc", num::SEPC),
        ("scause", num::SCAUSE),
        ("stval", num::STVAL),
        ("sip", num::SIP),
        ("stimecmp", num::STIMECMP),
        ("satp", num::SATP),
        ("mvendorid", num::MVENDORID),
        ("marchid", num::MARCHID),
        ("mimpid", num::MIMPID),
        ("mhartid", num::MHARTID),
        ("mstatus", num::MSTATUS),
        ("misa", num::MISA),
        ("medeleg", num::MEDELEG),
        ("mideleg", num::MIDELEG),
        ("mie", num::MIE),
        ("mtvec", num::MTVEC),
        ("mcounteren", num::MCOUNTEREN),
        ("menvcfg", num::MENVCFG),
        ("mcountinhibit", num::MCOUNTINHIBIT),
        ("mscratch", num::MSCRATCH),
        ("mepc", num::MEPC),
        ("mcause", num::MCAUSE),
        ("mtval", num::MTVAL),
        ("mip", num::MIP),
        ("mcycle", num::MCYCLE),
        ("minstret", num::MINSTRET),
        ("tselect", num::TSELECT),
        ("tdata1", num::TDATA1),
        ("tdata2", num::TDATA2),
        ("tdata3", num::TDATA3),
        ("tinfo", num::TINFO),
    ];
    for i in (0..16).step_by(2) {
        v.push((PMPCFG_NAMES[i / 2], num::PMPCFG0 + i as u16));
    }
    for (i, name) in PMPADDR_NAMES.iter().enumerate() {
        v.push((name, num::PMPADDR0 + i as u16));
    }
    v
}

const PMPCFG_NAMES: [&str; 8] = [
    "pmpcfg0", "pmpcfg2", "pmpcfg4", "pmpcfg6", "pmpcfg8", "pmpcfg10", "pmpcfg12", "pmpcfg14",
];
const PMPADDR_NAMES: [&str; 16] = [
    "pmpaddr0",
    "pmpaddr1",
    "pmpaddr2",
    "pmpaddr3",
    "pmpaddr4",
    "pmpaddr5",
    "pmpaddr6",
    "pmpaddr7",
    "pmpaddr8",
    "pmpaddr9",
    "pmpaddr10",
    "pmpaddr11",
    "pmpaddr12",
    "pmpaddr13",
    "pmpaddr14",
    "pmpaddr15",
];

/// The target description: gdb's `org.gnu.gdb.riscv.cpu` and `.fpu` features, and
/// with `system` the `.csr` feature (every CSR of [`system_csrs`]) and `.virtual`
/// (`priv`). A process VM leaves the system part out: its threads run in U-mode.
pub fn target_xml(system: bool) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target version=\"1.0\">\n<architecture>riscv:rv64</architecture>\n",
    );
    s.push_str("<feature name=\"org.gnu.gdb.riscv.cpu\">\n");
    for (i, name) in X_NAMES.iter().enumerate() {
        let ty = match i {
            2 | 8 => "data_ptr",
            1 => "code_ptr",
            _ => "int",
        };
        let _ = writeln!(
            s,
            "<reg name=\"{name}\" bitsize=\"64\" type=\"{ty}\" regnum=\"{i}\"/>"
        );
    }
    s.push_str("<reg name=\"pc\" bitsize=\"64\" type=\"code_ptr\" regnum=\"32\"/>\n</feature>\n");
    s.push_str("<feature name=\"org.gnu.gdb.riscv.fpu\">\n");
    s.push_str(concat!(
        "<union id=\"riscv_double\"><field name=\"float\" type=\"ieee_single\"/>",
        "<field name=\"double\" type=\"ieee_double\"/></union>\n"
    ));
    for (i, name) in F_NAMES.iter().enumerate() {
        let _ = writeln!(
            s,
            "<reg name=\"{name}\" bitsize=\"64\" type=\"riscv_double\" regnum=\"{}\"/>",
            33 + i
        );
    }
    for (name, csr) in [
        ("fflags", num::FFLAGS),
        ("frm", num::FRM),
        ("fcsr", num::FCSR),
    ] {
        let _ = writeln!(
            s,
            "<reg name=\"{name}\" bitsize=\"64\" type=\"int\" regnum=\"{}\" group=\"float\"/>",
            CSR_BASE + usize::from(csr)
        );
    }
    s.push_str("</feature>\n");
    if system {
        s.push_str("<feature name=\"org.gnu.gdb.riscv.csr\">\n");
        for (name, csr) in system_csrs() {
            let _ = writeln!(
                s,
                "<reg name=\"{name}\" bitsize=\"64\" type=\"int\" regnum=\"{}\" group=\"system\"/>",
                CSR_BASE + usize::from(csr)
            );
        }
        s.push_str("</feature>\n<feature name=\"org.gnu.gdb.riscv.virtual\">\n");
        let _ = writeln!(
            s,
            "<reg name=\"priv\" bitsize=\"64\" type=\"int\" regnum=\"{PRIV_REGNUM}\" group=\"system\"/>"
        );
        s.push_str("</feature>\n");
    }
    s.push_str("</target>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_g_packet_round_trips() {
        let mut r = Regs::default();
        for i in 0..32 {
            r.x[i] = i as u64 * 3;
            r.f[i] = !(i as u64);
        }
        r.pc = 0x8020_0000;
        let mut bytes = Vec::new();
        r.gdb_serialize(|b| bytes.push(b.unwrap()));
        assert_eq!(bytes.len(), 65 * 8);
        let mut back = Regs::default();
        back.gdb_deserialize(&bytes).unwrap();
        assert_eq!(back, r);
        assert!(back.gdb_deserialize(&bytes[..32 * 8]).is_err());
    }

    #[test]
    fn register_numbers_follow_gdb() {
        assert_eq!(Reg::from_raw_id(2).unwrap().0, Reg::X(2));
        assert_eq!(Reg::from_raw_id(32).unwrap().0, Reg::Pc);
        assert_eq!(Reg::from_raw_id(33 + 31).unwrap().0, Reg::F(31));
        assert_eq!(Reg::from_raw_id(65 + 0x300).unwrap().0, Reg::Csr(0x300));
        assert_eq!(Reg::from_raw_id(PRIV_REGNUM).unwrap().0, Reg::Priv);
        assert!(Reg::from_raw_id(PRIV_REGNUM + 1).is_none());
    }

    #[test]
    fn the_description_names_each_register_once() {
        let xml = target_xml(true);
        for name in [
            "\"zero\"",
            "\"pc\"",
            "\"ft0\"",
            "\"fcsr\"",
            "\"mstatus\"",
            "\"satp\"",
            "\"priv\"",
        ] {
            assert_eq!(xml.matches(name).count(), 1, "{name}");
        }
        assert!(xml.contains("regnum=\"833\""), "mstatus is 65 + 0x300");
        let user = target_xml(false);
        assert!(!user.contains("mstatus") && user.contains("\"fcsr\""));
    }
}
