//! Operand layouts: how each operation's operands are printed.

use crate::Op;

/// The printed shape of an instruction's operands (binutils' operand strings in
/// `riscv-opc.c` terms, e.g. `d,s,t` for [`Form::R`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    /// No operands (`ecall`, `mret`, `fence.i`).
    Bare,
    /// `fence pred,succ`, or `pause` / `fence.tso`.
    Fence,
    /// `rd,0x<imm[31:12]>`.
    Upper,
    /// `rd,target`.
    Jal,
    /// `rd,imm(rs1)`.
    Jalr,
    /// `rs1,rs2,target`.
    Branch,
    /// `rd,imm(rs1)` with an x destination.
    Load,
    /// `rd,imm(rs1)` with an f destination.
    FpLoad,
    /// `rs2,imm(rs1)` with an x source.
    Store,
    /// `rs2,imm(rs1)` with an f source.
    FpStore,
    /// `rd,rs1,imm` with a signed decimal immediate.
    Imm,
    /// `rd,rs1,0x<shamt>`.
    ShiftImm,
    /// `rd,rs1,rs2`.
    R,
    /// `rd,rs1`.
    Unary,
    /// `rd,csr,rs1`.
    Csr,
    /// `rd,csr,zimm`.
    CsrImm,
    /// `rd,rs2,(rs1)` with the ordering suffix.
    Amo,
    /// `rd,(rs1)` with the ordering suffix.
    Lr,
    /// `rs1,rs2`.
    SfenceVma,
    /// `(rs1)`.
    Cbo,
    /// `frd,frs1,frs2[,rm]`.
    FpR,
    /// `frd,frs1,frs2` (no rounding mode).
    FpRNoRm,
    /// `frd,frs1,frs2,frs3[,rm]`.
    FpR4,
    /// `frd,frs1[,rm]`.
    FpUnary,
    /// `xrd,frs1[,rm]`.
    FpToInt,
    /// `xrd,frs1` (moves, classify).
    FpToIntNoRm,
    /// `xrd,frs1,frs2` (compares).
    FpCompare,
    /// `frd,xrs1[,rm]`.
    IntToFp,
    /// `frd,xrs1` (moves).
    IntToFpNoRm,
    /// `frd,frs1[,rm]` where the conversion is exact and binutils omits rm = 0.
    FpWiden,
    /// `frd,xrs1[,rm]` where the conversion is exact and binutils omits rm = 0.
    IntToFpWiden,
}

/// The operand layout of `op`.
pub(crate) const fn form(op: Op) -> Form {
    use Op::*;
    match op {
        Illegal | FenceI | Ecall | Ebreak | Mret | Sret | Wfi => Form::Bare,
        Fence => Form::Fence,
        Lui | Auipc => Form::Upper,
        Jal => Form::Jal,
        Jalr => Form::Jalr,
        Beq | Bne | Blt | Bge | Bltu | Bgeu => Form::Branch,
        Lb | Lh | Lw | Ld | Lbu | Lhu | Lwu => Form::Load,
        Flw | Fld => Form::FpLoad,
        Sb | Sh | Sw | Sd => Form::Store,
        Fsw | Fsd => Form::FpStore,
        Addi | Slti | Sltiu | Xori | Ori | Andi | Addiw => Form::Imm,
        Slli | Srli | Srai | Slliw | Srliw | Sraiw | SlliUw | Rori | Roriw | Bclri | Bexti
        | Binvi | Bseti => Form::ShiftImm,
        Clz | Clzw | Ctz | Ctzw | Cpop | Cpopw | SextB | SextH | ZextH | OrcB | Rev8 => Form::Unary,
        Csrrw | Csrrs | Csrrc => Form::Csr,
        Csrrwi | Csrrsi | Csrrci => Form::CsrImm,
        LrW | LrD => Form::Lr,
        ScW | AmoswapW | AmoaddW | AmoxorW | AmoandW | AmoorW | AmominW | AmomaxW | AmominuW
        | AmomaxuW | ScD | AmoswapD | AmoaddD | AmoxorD | AmoandD | AmoorD | AmominD | AmomaxD
        | AmominuD | AmomaxuD => Form::Amo,
        SfenceVma => Form::SfenceVma,
        CboZero => Form::Cbo,
        FaddS | FsubS | FmulS | FdivS | FaddD | FsubD | FmulD | FdivD => Form::FpR,
        FsgnjS | FsgnjnS | FsgnjxS | FminS | FmaxS | FsgnjD | FsgnjnD | FsgnjxD | FminD | FmaxD => {
            Form::FpRNoRm
        }
        FmaddS | FmsubS | FnmsubS | FnmaddS | FmaddD | FmsubD | FnmsubD | FnmaddD => Form::FpR4,
        FsqrtS | FsqrtD | FcvtSD => Form::FpUnary,
        FcvtDS => Form::FpWiden,
        FcvtWS | FcvtWuS | FcvtLS | FcvtLuS | FcvtWD | FcvtWuD | FcvtLD | FcvtLuD => Form::FpToInt,
        FmvXW | FclassS | FmvXD | FclassD => Form::FpToIntNoRm,
        FeqS | FltS | FleS | FeqD | FltD | FleD => Form::FpCompare,
        FcvtSW | FcvtSWu | FcvtSL | FcvtSLu | FcvtDL | FcvtDLu => Form::IntToFp,
        FcvtDW | FcvtDWu => Form::IntToFpWiden,
        FmvWX | FmvDX => Form::IntToFpNoRm,
        // Everything else is a three-register integer operation.
        Add | Sub | Sll | Slt | Sltu | Xor | Srl | Sra | Or | And | Addw | Subw | Sllw | Srlw
        | Sraw | Mul | Mulh | Mulhsu | Mulhu | Div | Divu | Rem | Remu | Mulw | Divw | Divuw
        | Remw | Remuw | AddUw | Sh1add | Sh2add | Sh3add | Sh1addUw | Sh2addUw | Sh3addUw
        | Andn | Orn | Xnor | Max | Maxu | Min | Minu | Rol | Rolw | Ror | Rorw | Bclr | Bext
        | Binv | Bset | CzeroEqz | CzeroNez => Form::R,
    }
}
