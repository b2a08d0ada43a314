//! Compressed decoding checked against the 32-bit expansion of every format.
//! The pairs were assembled with GNU as (`.option rvc` and `.option norvc`).

use crate::{decode, Inst, Op};

/// `inst` with the fields that differ between a compressed instruction and its
/// expansion cleared.
fn fields(inst: Inst) -> Inst {
    Inst {
        raw: 0,
        len: 0,
        ..inst
    }
}

#[test]
fn every_format_matches_its_expansion() {
    let pairs: &[(u16, u32, &str)] = &[
        (0x1fe0, 0x3fc1_0413, "c.addi4spn s0,sp,1020"),
        (0x005c, 0x0041_0793, "c.addi4spn a5,sp,4"),
        (0x3ffc, 0x0f87_b787, "c.fld fa5,248(a5)"),
        (0x5ce8, 0x07c4_a503, "c.lw a0,124(s1)"),
        (0x40c8, 0x0044_a503, "c.lw a0,4(s1)"),
        (0x7ef0, 0x0f86_b603, "c.ld a2,248(a3)"),
        (0xa500, 0x0085_3427, "c.fsd fs0,8(a0)"),
        (0xc3b8, 0x04e7_a023, "c.sw a4,64(a5)"),
        (0xe444, 0x0894_3423, "c.sd s1,136(s0)"),
        (0x1501, 0xfe05_0513, "c.addi a0,-32"),
        (0x0ffd, 0x01ff_8f93, "c.addi t6,31"),
        (0x357d, 0xfff5_051b, "c.addiw a0,-1"),
        (0x5501, 0xfe00_0513, "c.li a0,-32"),
        (0x7101, 0xe001_0113, "c.addi16sp sp,-512"),
        (0x617d, 0x1f01_0113, "c.addi16sp sp,496"),
        (0x6141, 0x0101_0113, "c.addi16sp sp,16"),
        (0x7501, 0xfffe_0537, "c.lui a0,0xfffe0"),
        (0x6ffd, 0x0001_ffb7, "c.lui t6,0x1f"),
        (0x6505, 0x0000_1537, "c.lui a0,1"),
        (0x917d, 0x03f5_5513, "c.srli a0,63"),
        (0x8485, 0x4014_d493, "c.srai s1,1"),
        (0x9bfd, 0xfff7_f793, "c.andi a5,-1"),
        (0x8d0d, 0x40b5_0533, "c.sub a0,a1"),
        (0x8c25, 0x0094_4433, "c.xor s0,s1"),
        (0x8f5d, 0x00f7_6733, "c.or a4,a5"),
        (0x8ef1, 0x00c6_f6b3, "c.and a3,a2"),
        (0x9d0d, 0x40b5_053b, "c.subw a0,a1"),
        (0x9fa1, 0x0087_87bb, "c.addw a5,s0"),
        (0xb001, 0x801f_f06f, "c.j .-2048"),
        (0xaffd, 0x7fe0_006f, "c.j .+2046"),
        (0xa02d, 0x02a0_006f, "c.j .+0x2a"),
        (0xd101, 0xf005_00e3, "c.beqz a0,.-256"),
        (0xecfd, 0x0e04_9f63, "c.bnez s1,.+254"),
        (0xe48d, 0x0204_9563, "c.bnez s1,.+0x2a"),
        (0x1ffe, 0x03ff_9f93, "c.slli t6,63"),
        (0x3dfe, 0x1f81_3d87, "c.fldsp fs11,504(sp)"),
        (0x50fe, 0x0fc1_2083, "c.lwsp ra,252(sp)"),
        (0x7ffe, 0x1f81_3f83, "c.ldsp t6,504(sp)"),
        (0x8502, 0x0005_0067, "c.jr a0"),
        (0x852e, 0x00b0_0533, "c.mv a0,a1"),
        (0x9002, 0x0010_0073, "c.ebreak"),
        (0x9282, 0x0002_80e7, "c.jalr t0"),
        (0x947e, 0x01f4_0433, "c.add s0,t6"),
        (0xbf86, 0x1e11_3c27, "c.fsdsp ft1,504(sp)"),
        (0xdffe, 0x0ff1_2e23, "c.swsp t6,252(sp)"),
        (0xffaa, 0x1ea1_3c23, "c.sdsp a0,504(sp)"),
    ];
    for &(half, word, text) in pairs {
        let short = decode(half as u32);
        let long = decode(word);
        assert_ne!(long.op, Op::Illegal, "{text}");
        assert_eq!((short.len, short.raw), (2, half as u32), "{text}");
        assert_eq!(fields(short), fields(long), "{text}");
    }
}

#[test]
fn reserved_encodings_are_illegal() {
    let reserved: &[(u16, &str)] = &[
        (0x0000, "all-zero halfword"),
        (0x0004, "c.addi4spn with nzuimm 0, rd' = a1"),
        (0x001c, "c.addi4spn with nzuimm 0, rd' = a5"),
        (0x6101, "c.addi16sp with nzimm 0"),
        (0x6181, "c.lui gp with nzimm 0"),
        (0x6001, "c.lui zero with nzimm 0"),
        (0x4002, "c.lwsp zero"),
        (0x6002, "c.ldsp zero"),
        (0x8002, "c.jr zero"),
        (0x2001, "c.addiw zero"),
        (0x2005, "c.addiw zero, 1"),
        (0x8000, "quadrant 0 funct3 100 (Zcb)"),
        (0x9c41, "quadrant 1 CA group, bit 12 set, funct2 10"),
        (0x9c61, "quadrant 1 CA group, bit 12 set, funct2 11"),
    ];
    for &(half, what) in reserved {
        let i = decode(half as u32);
        assert_eq!(
            (i.op, i.len, i.raw),
            (Op::Illegal, 2, half as u32),
            "{what}"
        );
    }
}

#[test]
fn hints_decode_normally() {
    let hints: &[(u16, Op, &str)] = &[
        (0x0001, Op::Addi, "c.nop"),
        (0x1001, Op::Addi, "c.nop with nonzero immediate"),
        (0x0501, Op::Addi, "c.addi a0, 0"),
        (0x4001, Op::Addi, "c.li zero, 0"),
        (0x6005, Op::Lui, "c.lui zero, 1"),
        (0x0002, Op::Slli, "c.slli zero, 0"),
        (0x0502, Op::Slli, "c.slli a0, 0 (c.slli64)"),
        (0x8101, Op::Srli, "c.srli a0, 0 (c.srli64)"),
        (0x8501, Op::Srai, "c.srai a0, 0 (c.srai64)"),
        (0x802a, Op::Add, "c.mv zero, a0"),
        (0x902a, Op::Add, "c.add zero, a0"),
    ];
    for &(half, op, what) in hints {
        assert_eq!(decode(half as u32).op, op, "{what}");
    }
}

#[test]
fn fp_loads_allow_f0_and_x0_sources() {
    // c.fldsp ft0, 0(sp) is valid (rd names an f register).
    let i = decode(0x2002);
    assert_eq!((i.op, i.rd, i.rs1, i.imm), (Op::Fld, 0, 2, 0));
    // c.sdsp zero, 0(sp) stores x0: valid.
    let i = decode(0xe002);
    assert_eq!((i.op, i.rs2, i.rs1), (Op::Sd, 0, 2));
}

#[test]
fn compressed_immediates_sign_extend() {
    let i = decode(0x7101); // c.addi16sp sp, -512
    assert_eq!(i.imm, -512);
    let i = decode(0x7501); // c.lui a0, 0xfffe0: imm = -32 << 12
    assert_eq!(i.imm, -32 << 12);
    let i = decode(0x1161); // c.addi sp, -8 (imm[5] set)
    assert_eq!((i.rd, i.imm), (2, -8));
    let i = decode(0x9b81); // c.andi a5, -32
    assert_eq!(i.imm, -32);
}
