//! The operation kinds a decoded instruction can have.
//!
//! Compressed (RVC) instructions decode to the base operation they expand to
//! (for example `c.addi` becomes [`Op::Addi`]); [`crate::Inst::len`] tells them apart.

/// One decoded operation. Operand meaning is documented per group; see [`crate::Inst`]
/// for where each operand is stored.
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Op {
    /// Not a valid instruction for this hart: raises an illegal-instruction exception.
    /// `Inst::raw` holds the bits (the value for `mtval`).
    Illegal,

    // ---- RV64I -------------------------------------------------------------
    /// `rd = imm` (imm already shifted left by 12 and sign-extended).
    Lui,
    /// `rd = pc + imm` (imm already shifted left by 12 and sign-extended).
    Auipc,
    /// `rd = pc + len; pc += imm`.
    Jal,
    /// `rd = pc + len; pc = (rs1 + imm) & !1`.
    Jalr,
    /// Branches: `if cmp(rs1, rs2) { pc += imm }`.
    Beq,
    Bne,
    Blt,
    Bge,
    Bltu,
    Bgeu,
    /// Loads: `rd = mem[rs1 + imm]`.
    Lb,
    Lh,
    Lw,
    Ld,
    Lbu,
    Lhu,
    Lwu,
    /// Stores: `mem[rs1 + imm] = rs2`.
    Sb,
    Sh,
    Sw,
    Sd,
    /// Register-immediate ALU: `rd = rs1 op imm`. For shifts `imm` is the shift amount.
    Addi,
    Slti,
    Sltiu,
    Xori,
    Ori,
    Andi,
    Slli,
    Srli,
    Srai,
    /// Register-register ALU: `rd = rs1 op rs2`.
    Add,
    Sub,
    Sll,
    Slt,
    Sltu,
    Xor,
    Srl,
    Sra,
    Or,
    And,
    /// 32-bit ALU ops whose result is sign-extended from bit 31.
    Addiw,
    Slliw,
    Srliw,
    Sraiw,
    Addw,
    Subw,
    Sllw,
    Srlw,
    Sraw,
    /// `fence`: `imm` holds instruction bits \[31:20\] (fm, pred, succ). This includes
    /// `pause` (Zihintpause) and `fence.tso`.
    Fence,
    /// `fence.i` (Zifencei).
    FenceI,
    Ecall,
    Ebreak,

    // ---- M -------------------------------------------------------------------
    Mul,
    Mulh,
    Mulhsu,
    Mulhu,
    Div,
    Divu,
    Rem,
    Remu,
    Mulw,
    Divw,
    Divuw,
    Remw,
    Remuw,

    // ---- A: `rd = mem[rs1]`, `mem[rs1] = f(mem[rs1], rs2)`; `rm` holds aq<<1|rl --------
    LrW,
    ScW,
    AmoswapW,
    AmoaddW,
    AmoxorW,
    AmoandW,
    AmoorW,
    AmominW,
    AmomaxW,
    AmominuW,
    AmomaxuW,
    LrD,
    ScD,
    AmoswapD,
    AmoaddD,
    AmoxorD,
    AmoandD,
    AmoorD,
    AmominD,
    AmomaxD,
    AmominuD,
    AmomaxuD,

    // ---- F and D: rd/rs1/rs2/rs3 name f registers unless the operation moves to or
    // from an x register; `rm` holds the rounding-mode field (7 = dynamic). ----------
    /// `f[rd] = mem32[x[rs1] + imm]` (NaN-boxed).
    Flw,
    /// `mem32[x[rs1] + imm] = f[rs2]`.
    Fsw,
    FmaddS,
    FmsubS,
    FnmsubS,
    FnmaddS,
    FaddS,
    FsubS,
    FmulS,
    FdivS,
    FsqrtS,
    FsgnjS,
    FsgnjnS,
    FsgnjxS,
    FminS,
    FmaxS,
    /// `x[rd] = convert(f[rs1])`.
    FcvtWS,
    FcvtWuS,
    FcvtLS,
    FcvtLuS,
    /// `x[rd] = sext(f[rs1][31:0])`.
    FmvXW,
    /// Comparisons write `x[rd]`.
    FeqS,
    FltS,
    FleS,
    /// `x[rd] = class mask of f[rs1]`.
    FclassS,
    /// `f[rd] = convert(x[rs1])`.
    FcvtSW,
    FcvtSWu,
    FcvtSL,
    FcvtSLu,
    /// `f[rd] = nanbox(x[rs1][31:0])`.
    FmvWX,
    Fld,
    Fsd,
    FmaddD,
    FmsubD,
    FnmsubD,
    FnmaddD,
    FaddD,
    FsubD,
    FmulD,
    FdivD,
    FsqrtD,
    FsgnjD,
    FsgnjnD,
    FsgnjxD,
    FminD,
    FmaxD,
    /// `f[rd] = f32(f[rs1] as f64)`.
    FcvtSD,
    /// `f[rd] = f64(f[rs1] as f32)`.
    FcvtDS,
    FcvtWD,
    FcvtWuD,
    FcvtLD,
    FcvtLuD,
    FmvXD,
    FeqD,
    FltD,
    FleD,
    FclassD,
    FcvtDW,
    FcvtDWu,
    FcvtDL,
    FcvtDLu,
    FmvDX,

    // ---- Zicsr: `imm` holds the CSR number; for the *i forms `rs1` holds the 5-bit
    // unsigned immediate (zimm) ----------------------------------------------------
    Csrrw,
    Csrrs,
    Csrrc,
    Csrrwi,
    Csrrsi,
    Csrrci,

    // ---- privileged ------------------------------------------------------------
    Mret,
    Sret,
    Wfi,
    /// `sfence.vma rs1, rs2` (rs1 = address, rs2 = ASID; x0 means "all").
    SfenceVma,

    // ---- Zba ---------------------------------------------------------------------
    AddUw,
    Sh1add,
    Sh2add,
    Sh3add,
    Sh1addUw,
    Sh2addUw,
    Sh3addUw,
    /// `rd = zext32(rs1) << imm`.
    SlliUw,

    // ---- Zbb ---------------------------------------------------------------------
    Andn,
    Orn,
    Xnor,
    Clz,
    Clzw,
    Ctz,
    Ctzw,
    Cpop,
    Cpopw,
    Max,
    Maxu,
    Min,
    Minu,
    SextB,
    SextH,
    ZextH,
    Rol,
    Rolw,
    Ror,
    Rorw,
    /// `imm` is the rotate amount.
    Rori,
    Roriw,
    OrcB,
    Rev8,

    // ---- Zbs (immediate forms: `imm` is the bit index) -----------------------------
    Bclr,
    Bclri,
    Bext,
    Bexti,
    Binv,
    Binvi,
    Bset,
    Bseti,

    // ---- Zicond ------------------------------------------------------------------
    CzeroEqz,
    CzeroNez,

    // ---- Zicboz: zero the cache block at x[rs1] --------------------------------------
    CboZero,
}
