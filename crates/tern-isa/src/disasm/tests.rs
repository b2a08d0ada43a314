//! Disassembly of hand-picked encodings; the differential test in
//! `tests/objdump.rs` covers the rest against binutils.

use crate::decode;

fn text(bits: u32) -> String {
    decode(bits).to_string()
}

#[test]
fn integer() {
    assert_eq!(text(0x0015_0513), "addi a0,a0,1");
    assert_eq!(text(0x8005_0513), "addi a0,a0,-2048");
    assert_eq!(text(0x0081_3783), "ld a5,8(sp)");
    assert_eq!(text(0xfef1_3c23), "sd a5,-8(sp)");
    assert_eq!(text(0x1234_5537), "lui a0,0x12345");
    assert_eq!(text(0xffff_f517), "auipc a0,0xfffff");
    assert_eq!(text(0x00a5_9513), "slli a0,a1,0xa");
    assert_eq!(text(0x0005_00e7), "jalr ra,0(a0)");
    assert_eq!(text(0x0805_053b), "add.uw a0,a0,zero");
    assert_eq!(text(0x6b85_5513), "rev8 a0,a0");
    assert_eq!(text(0x0eb5_5533), "czero.eqz a0,a0,a1");
}

#[test]
fn branch_targets() {
    assert_eq!(text(0x00b5_0863), "beq a0,a1,.+0x10");
    assert_eq!(text(0xfeb5_0ee3), "beq a0,a1,.-0x4");
    assert_eq!(text(0x0000_006f), "jal zero,.+0x0");
    assert_eq!(
        decode(0x00b5_0863).display_at(0x8000_0000).to_string(),
        "beq a0,a1,0x80000010"
    );
    assert_eq!(
        decode(0xfeb5_0ee3).display_at(0).to_string(),
        "beq a0,a1,0xfffffffffffffffc"
    );
}

#[test]
fn system_and_atomics() {
    assert_eq!(text(0x3000_2573), "csrrs a0,mstatus,zero");
    assert_eq!(text(0x7c00_2573), "csrrs a0,0x7c0,zero");
    assert_eq!(text(0x1000_e573), "csrrsi a0,sstatus,1");
    assert_eq!(text(0x0ff0_000f), "fence iorw,iorw");
    assert_eq!(text(0x00a0_000f), "fence unknown,ir");
    assert_eq!(text(0x0100_000f), "pause");
    assert_eq!(text(0x8330_000f), "fence.tso");
    assert_eq!(text(0x0000_100f), "fence.i");
    assert_eq!(text(0x1200_0073), "sfence.vma zero,zero");
    assert_eq!(text(0x3020_0073), "mret");
    assert_eq!(text(0x0045_200f), "cbo.zero (a0)");
    assert_eq!(text(0x06b5_a5af), "amoadd.w.aqrl a1,a1,(a1)");
    assert_eq!(text(0x1405_b5af), "lr.d.aq a1,(a1)");
}

#[test]
fn floating_point() {
    assert_eq!(text(0x00b5_7553), "fadd.s fa0,fa0,fa1");
    assert_eq!(text(0x00b5_1553), "fadd.s fa0,fa0,fa1,rtz");
    assert_eq!(text(0x00b5_d553), "fadd.s fa0,fa1,fa1,unknown");
    assert_eq!(text(0xc005_1553), "fcvt.w.s a0,fa0,rtz");
    assert_eq!(text(0x4205_8553), "fcvt.d.s fa0,fa1");
    assert_eq!(text(0x4205_f553), "fcvt.d.s fa0,fa1,dyn");
    assert_eq!(text(0xe005_1553), "fclass.s a0,fa0");
    assert_eq!(text(0x6ac5_f543), "fmadd.d fa0,fa1,fa2,fa3");
}

#[test]
fn compressed_print_expanded() {
    assert_eq!(text(0x0505), "addi a0,a0,1");
    assert_eq!(text(0x8082), "jalr zero,0(ra)");
    assert_eq!(text(0x852e), "add a0,zero,a1");
    assert_eq!(text(0x7ffe), "ld t6,504(sp)");
    assert_eq!(text(0xa02d), "jal zero,.+0x2a");
}

#[test]
fn illegal() {
    assert_eq!(text(0x0000_0000), ".2byte 0x0");
    assert_eq!(text(0xffff_ffff), ".4byte 0xffffffff");
    assert_eq!(text(0x0e05_c53b), ".4byte 0xe05c53b");
}

#[test]
fn padding() {
    assert_eq!(format!("{:<16}|", decode(0x0015_0513)), "addi a0,a0,1    |");
}
