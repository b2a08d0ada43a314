//! F and D instructions other than loads and stores (Unprivileged ISA, chapters F, D).
//!
//! Arithmetic comes from `tern-fpu`; this module adds what belongs to the hart:
//! the `FS` gate, the dynamic rounding mode, NaN-boxing of singles (§"NaN Boxing of
//! Narrower Values"), the sign-injection and move instructions, and accrual of `fflags`.

use tern_fpu::{self as fpu, Flags, Rm};
use tern_isa::{Inst, Op};

use crate::csr::status;
use crate::exec::alu::sext32;
use crate::hart::Core;
use crate::trap::Exception;

const BOX: u64 = 0xffff_ffff_0000_0000;
const SIGN_S: u32 = 1 << 31;
const SIGN_D: u64 = 1 << 63;

impl Core {
    /// Whether the FPU is on (`mstatus.FS != Off`).
    #[inline(always)]
    pub(crate) fn fpu_on(&self) -> bool {
        self.state.csr.mstatus & status::FS != 0
    }

    /// A single read from `f[r]`: the canonical NaN unless properly NaN-boxed.
    #[inline(always)]
    pub(crate) fn fs(&self, r: u8) -> u32 {
        let v = self.state.f[usize::from(r & 31)];
        if v & BOX == BOX {
            v as u32
        } else {
            fpu::CANONICAL_NAN_S
        }
    }

    /// A double read from `f[r]`.
    #[inline(always)]
    pub(crate) fn fd(&self, r: u8) -> u64 {
        self.state.f[usize::from(r & 31)]
    }

    /// Writes a NaN-boxed single to `f[r]`.
    #[inline(always)]
    pub(crate) fn set_fs(&mut self, r: u8, v: u32) {
        self.state.f[usize::from(r & 31)] = BOX | u64::from(v);
        self.mark_fs_dirty();
    }

    /// Writes a double to `f[r]`.
    #[inline(always)]
    pub(crate) fn set_fd(&mut self, r: u8, v: u64) {
        self.state.f[usize::from(r & 31)] = v;
        self.mark_fs_dirty();
    }

    #[inline(always)]
    fn accrue(&mut self, flags: Flags) {
        if flags.bits() != 0 {
            self.state.fflags |= flags.bits();
        }
        self.mark_fs_dirty();
    }

    #[inline(always)]
    fn set_x(&mut self, r: u8, v: u64) {
        self.state.x[usize::from(r & 31)] = v;
        self.state.x[0] = 0;
    }

    /// The rounding mode for an instruction's `rm` field (7 = `frm`); reserved modes are
    /// illegal instructions.
    #[inline(always)]
    fn rounding(&self, inst: &Inst) -> Result<Rm, Exception> {
        let rm = if inst.rm == 7 {
            self.state.frm
        } else {
            inst.rm
        };
        Rm::from_bits(rm).ok_or(Exception::illegal(inst.raw))
    }

    /// Executes a floating-point computational instruction.
    pub(crate) fn exec_fp(&mut self, inst: &Inst) -> Result<(), Exception> {
        if !self.fpu_on() {
            return Err(Exception::illegal(inst.raw));
        }
        let (rd, r1, r2, r3) = (inst.rd, inst.rs1, inst.rs2, inst.rs3);
        macro_rules! s2 {
            ($f:path) => {{
                let rm = self.rounding(inst)?;
                let (v, fl) = $f(self.fs(r1), self.fs(r2), rm);
                self.set_fs(rd, v);
                self.accrue(fl);
            }};
        }
        macro_rules! d2 {
            ($f:path) => {{
                let rm = self.rounding(inst)?;
                let (v, fl) = $f(self.fd(r1), self.fd(r2), rm);
                self.set_fd(rd, v);
                self.accrue(fl);
            }};
        }
        macro_rules! fma_s {
            ($neg_prod:expr, $neg_add:expr) => {{
                let rm = self.rounding(inst)?;
                let a = self.fs(r1) ^ if $neg_prod { SIGN_S } else { 0 };
                let c = self.fs(r3) ^ if $neg_add { SIGN_S } else { 0 };
                let (v, fl) = fpu::fma_s(a, self.fs(r2), c, rm);
                self.set_fs(rd, v);
                self.accrue(fl);
            }};
        }
        macro_rules! fma_d {
            ($neg_prod:expr, $neg_add:expr) => {{
                let rm = self.rounding(inst)?;
                let a = self.fd(r1) ^ if $neg_prod { SIGN_D } else { 0 };
                let c = self.fd(r3) ^ if $neg_add { SIGN_D } else { 0 };
                let (v, fl) = fpu::fma_d(a, self.fd(r2), c, rm);
                self.set_fd(rd, v);
                self.accrue(fl);
            }};
        }
        macro_rules! cmp {
            ($f:path, $read:ident) => {{
                let (v, fl) = $f(self.$read(r1), self.$read(r2));
                self.set_x(rd, u64::from(v));
                self.accrue(fl);
            }};
        }
        macro_rules! minmax {
            ($f:path, $read:ident, $write:ident) => {{
                let (v, fl) = $f(self.$read(r1), self.$read(r2));
                self.$write(rd, v);
                self.accrue(fl);
            }};
        }
        macro_rules! to_int {
            ($f:path, $read:ident, $ext:expr) => {{
                let rm = self.rounding(inst)?;
                let (v, fl) = $f(self.$read(r1), rm);
                self.set_x(rd, $ext(v));
                self.accrue(fl);
            }};
        }
        macro_rules! from_int {
            ($f:path, $conv:expr, $write:ident) => {{
                let rm = self.rounding(inst)?;
                let x = self.state.x[usize::from(r1 & 31)];
                let (v, fl) = $f($conv(x), rm);
                self.$write(rd, v);
                self.accrue(fl);
            }};
        }
        match inst.op {
            Op::FaddS => s2!(fpu::add_s),
            Op::FsubS => s2!(fpu::sub_s),
            Op::FmulS => s2!(fpu::mul_s),
            Op::FdivS => s2!(fpu::div_s),
            Op::FaddD => d2!(fpu::add_d),
            Op::FsubD => d2!(fpu::sub_d),
            Op::FmulD => d2!(fpu::mul_d),
            Op::FdivD => d2!(fpu::div_d),
            Op::FsqrtS => {
                let rm = self.rounding(inst)?;
                let (v, fl) = fpu::sqrt_s(self.fs(r1), rm);
                self.set_fs(rd, v);
                self.accrue(fl);
            }
            Op::FsqrtD => {
                let rm = self.rounding(inst)?;
                let (v, fl) = fpu::sqrt_d(self.fd(r1), rm);
                self.set_fd(rd, v);
                self.accrue(fl);
            }
            Op::FmaddS => fma_s!(false, false),
            Op::FmsubS => fma_s!(false, true),
            Op::FnmsubS => fma_s!(true, false),
            Op::FnmaddS => fma_s!(true, true),
            Op::FmaddD => fma_d!(false, false),
            Op::FmsubD => fma_d!(false, true),
            Op::FnmsubD => fma_d!(true, false),
            Op::FnmaddD => fma_d!(true, true),
            Op::FsgnjS => {
                let v = (self.fs(r1) & !SIGN_S) | (self.fs(r2) & SIGN_S);
                self.set_fs(rd, v);
            }
            Op::FsgnjnS => {
                let v = (self.fs(r1) & !SIGN_S) | (!self.fs(r2) & SIGN_S);
                self.set_fs(rd, v);
            }
            Op::FsgnjxS => {
                let v = self.fs(r1) ^ (self.fs(r2) & SIGN_S);
                self.set_fs(rd, v);
            }
            Op::FsgnjD => {
                let v = (self.fd(r1) & !SIGN_D) | (self.fd(r2) & SIGN_D);
                self.set_fd(rd, v);
            }
            Op::FsgnjnD => {
                let v = (self.fd(r1) & !SIGN_D) | (!self.fd(r2) & SIGN_D);
                self.set_fd(rd, v);
            }
            Op::FsgnjxD => {
                let v = self.fd(r1) ^ (self.fd(r2) & SIGN_D);
                self.set_fd(rd, v);
            }
            Op::FminS => minmax!(fpu::min_s, fs, set_fs),
            Op::FmaxS => minmax!(fpu::max_s, fs, set_fs),
            Op::FminD => minmax!(fpu::min_d, fd, set_fd),
            Op::FmaxD => minmax!(fpu::max_d, fd, set_fd),
            Op::FeqS => cmp!(fpu::eq_s, fs),
            Op::FltS => cmp!(fpu::lt_s, fs),
            Op::FleS => cmp!(fpu::le_s, fs),
            Op::FeqD => cmp!(fpu::eq_d, fd),
            Op::FltD => cmp!(fpu::lt_d, fd),
            Op::FleD => cmp!(fpu::le_d, fd),
            Op::FclassS => {
                let v = fpu::class_s(self.fs(r1));
                self.set_x(rd, v);
            }
            Op::FclassD => {
                let v = fpu::class_d(self.fd(r1));
                self.set_x(rd, v);
            }
            Op::FmvXW => {
                let v = sext32(self.fd(r1));
                self.set_x(rd, v);
            }
            Op::FmvXD => {
                let v = self.fd(r1);
                self.set_x(rd, v);
            }
            Op::FmvWX => {
                let v = self.state.x[usize::from(r1 & 31)] as u32;
                self.set_fs(rd, v);
            }
            Op::FmvDX => {
                let v = self.state.x[usize::from(r1 & 31)];
                self.set_fd(rd, v);
            }
            Op::FcvtWS => to_int!(fpu::to_i32_s, fs, |v: i32| v as i64 as u64),
            Op::FcvtWuS => to_int!(fpu::to_u32_s, fs, |v: u32| sext32(u64::from(v))),
            Op::FcvtLS => to_int!(fpu::to_i64_s, fs, |v: i64| v as u64),
            Op::FcvtLuS => to_int!(fpu::to_u64_s, fs, |v: u64| v),
            Op::FcvtWD => to_int!(fpu::to_i32_d, fd, |v: i32| v as i64 as u64),
            Op::FcvtWuD => to_int!(fpu::to_u32_d, fd, |v: u32| sext32(u64::from(v))),
            Op::FcvtLD => to_int!(fpu::to_i64_d, fd, |v: i64| v as u64),
            Op::FcvtLuD => to_int!(fpu::to_u64_d, fd, |v: u64| v),
            Op::FcvtSW => from_int!(fpu::from_i32_s, |x: u64| x as i32, set_fs),
            Op::FcvtSWu => from_int!(fpu::from_u32_s, |x: u64| x as u32, set_fs),
            Op::FcvtSL => from_int!(fpu::from_i64_s, |x: u64| x as i64, set_fs),
            Op::FcvtSLu => from_int!(fpu::from_u64_s, |x: u64| x, set_fs),
            Op::FcvtDW => from_int!(fpu::from_i32_d, |x: u64| x as i32, set_fd),
            Op::FcvtDWu => from_int!(fpu::from_u32_d, |x: u64| x as u32, set_fd),
            Op::FcvtDL => from_int!(fpu::from_i64_d, |x: u64| x as i64, set_fd),
            Op::FcvtDLu => from_int!(fpu::from_u64_d, |x: u64| x, set_fd),
            Op::FcvtSD => {
                let rm = self.rounding(inst)?;
                let (v, fl) = fpu::d_to_s(self.fd(r1), rm);
                self.set_fs(rd, v);
                self.accrue(fl);
            }
            Op::FcvtDS => {
                // Exact, but the rounding-mode field must still be valid.
                self.rounding(inst)?;
                let (v, fl) = fpu::s_to_d(self.fs(r1));
                self.set_fd(rd, v);
                self.accrue(fl);
            }
            _ => return Err(Exception::illegal(inst.raw)),
        }
        Ok(())
    }
}
