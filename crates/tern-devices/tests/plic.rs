//! PLIC behaviour with several harts and contexts: priorities, thresholds, enables,
//! claim/complete, level-triggered gateways, concurrent claims, save/restore.

use std::sync::Arc;
use std::thread;

use tern_devices::plic::{window_size, Plic, VIRT_NUM_SOURCES};
use tern_devices::{Component, MmioDevice, Persist};
use tern_hart::trap::irq::{MEIP, SEIP};
use tern_hart::IrqLines;

const ENABLE: u64 = 0x2000;
const CTX: u64 = 0x20_0000;

fn setup(harts: usize) -> (Plic, Vec<Arc<IrqLines>>) {
    let lines: Vec<_> = (0..harts).map(|_| Arc::new(IrqLines::new())).collect();
    (Plic::new(VIRT_NUM_SOURCES, &lines), lines)
}

fn enable(p: &mut Plic, ctx: u64, sources: &[u32]) {
    let mut words = [0u32; 3];
    for &s in sources {
        words[(s / 32) as usize] |= 1 << (s % 32);
    }
    for (i, w) in words.iter().enumerate() {
        p.write(ENABLE + 0x80 * ctx + 4 * i as u64, 4, u64::from(*w))
            .unwrap();
    }
}

fn claim(p: &mut Plic, ctx: u64) -> u32 {
    p.read(CTX + 0x1000 * ctx + 4, 4).unwrap() as u32
}

fn complete(p: &mut Plic, ctx: u64, id: u32) {
    p.write(CTX + 0x1000 * ctx + 4, 4, u64::from(id)).unwrap();
}

fn threshold(p: &mut Plic, ctx: u64, t: u32) {
    p.write(CTX + 0x1000 * ctx, 4, u64::from(t)).unwrap();
}

fn priority(p: &mut Plic, src: u32, prio: u32) {
    p.write(4 * u64::from(src), 4, u64::from(prio)).unwrap();
}

#[test]
fn layout_matches_qemu_virt() {
    let (p, _) = setup(4);
    assert_eq!(p.num_contexts(), 8);
    assert_eq!(p.window_size(), window_size(8));
    assert_eq!(window_size(8), 0x20_8000);
    assert_eq!(p.num_sources(), 96);
}

#[test]
fn priority_threshold_and_contexts() {
    let (mut p, lines) = setup(2);
    for (s, prio) in [(1, 1), (5, 5), (33, 5), (40, 7), (95, 2)] {
        priority(&mut p, s, prio);
    }
    // Priorities are 3 bits wide.
    priority(&mut p, 2, 0xff);
    assert_eq!(p.read(8, 4).unwrap(), 7);
    priority(&mut p, 2, 0);
    // Hart 0 S-mode (context 1) takes 5 and 33; hart 1 M-mode (context 2) takes 40, 95.
    enable(&mut p, 1, &[5, 33]);
    enable(&mut p, 2, &[40, 95, 1]);
    assert_eq!(p.read(ENABLE + 0x80 + 4, 4).unwrap(), 1 << 1);
    for s in [1, 5, 33, 40, 95] {
        p.irq_line(s).raise();
    }
    assert_eq!(lines[0].get() & (MEIP | SEIP), SEIP);
    assert_eq!(lines[1].get() & (MEIP | SEIP), MEIP);
    assert_eq!(p.read(0x1000, 4).unwrap(), (1 << 1) | (1 << 5));
    assert_eq!(p.read(0x1004, 4).unwrap(), (1 << 1) | (1 << 8));
    assert_eq!(p.read(0x1008, 4).unwrap(), 1 << 31);
    // Equal priorities: the lower id first.
    assert_eq!(claim(&mut p, 1), 5);
    assert_eq!(claim(&mut p, 1), 33);
    assert_eq!(claim(&mut p, 1), 0);
    assert_eq!(lines[0].get() & SEIP, 0);
    // Threshold masks sources of priority <= threshold, for notification and claims.
    threshold(&mut p, 2, 2);
    assert_eq!(claim(&mut p, 2), 40);
    assert_eq!(
        lines[1].get() & MEIP,
        0,
        "95 (prio 2) and 1 (prio 1) are at/below threshold"
    );
    assert_eq!(claim(&mut p, 2), 0);
    threshold(&mut p, 2, 1);
    assert_eq!(lines[1].get() & MEIP, MEIP);
    assert_eq!(claim(&mut p, 2), 95);
    threshold(&mut p, 2, 0);
    assert_eq!(claim(&mut p, 2), 1);
    // Completing for a context where the source is not enabled is ignored.
    complete(&mut p, 1, 40);
    assert_eq!(claim(&mut p, 2), 0);
    // Lines still high: completion makes them pending again.
    complete(&mut p, 2, 40);
    assert_eq!(lines[1].get() & MEIP, MEIP);
    assert_eq!(claim(&mut p, 2), 40);
    // Lowering a line retracts a pending request.
    p.irq_line(5).lower();
    complete(&mut p, 1, 5);
    assert_eq!(p.read(0x1000, 4).unwrap() & (1 << 5), 0);
    // Reserved and invalid ids are ignored.
    complete(&mut p, 1, 0);
    complete(&mut p, 1, 5000);
    p.irq_line(0).raise();
    p.irq_line(96).raise();
    assert_eq!(p.read(0x1000, 4).unwrap() & 1, 0);
}

#[test]
fn one_source_is_claimed_once_among_racing_harts() {
    let (p, lines) = setup(4);
    let mut q = p.clone();
    for ctx in 0..8 {
        enable(&mut q, ctx, &[7]);
    }
    priority(&mut q, 7, 1);
    let line = p.irq_line(7);
    for _ in 0..200 {
        line.raise();
        let claims: Vec<u32> = thread::scope(|s| {
            let hs: Vec<_> = (0..8u64)
                .map(|ctx| {
                    let mut p = p.clone();
                    s.spawn(move || claim(&mut p, ctx))
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(claims.iter().filter(|&&c| c == 7).count(), 1, "{claims:?}");
        assert!(lines.iter().all(|l| l.get() & (MEIP | SEIP) == 0));
        line.lower();
        let winner = claims.iter().position(|&c| c == 7).unwrap() as u64;
        complete(&mut q, winner, 7);
    }
}

#[test]
fn save_and_restore() {
    let (mut p, _) = setup(1);
    priority(&mut p, 10, 3);
    enable(&mut p, 1, &[10]);
    threshold(&mut p, 0, 4);
    p.irq_line(10).raise();
    let s = p.save_encoded().unwrap().expect("the PLIC has state");
    let (mut p2, lines2) = setup(1);
    p2.restore_encoded(&s).unwrap();
    assert_eq!(lines2[0].get() & SEIP, SEIP);
    assert_eq!(claim(&mut p2, 1), 10);
    let (mut p3, _) = setup(2);
    let err = p3.restore_encoded(&s).unwrap_err().to_string();
    assert_eq!(err, "2 contexts saved, this PLIC has 4");
    let mut bad = p.save().unwrap();
    bad.pending.pop();
    assert!(p2.restore(&bad).is_err());
}

#[test]
fn uart_input_reaches_the_hart_through_the_plic() {
    use tern_devices::uart::Uart;
    let (mut p, lines) = setup(1);
    priority(&mut p, 10, 1);
    enable(&mut p, 1, &[10]);
    let mut uart = Uart::new(Box::new(std::io::sink()), p.irq_line(10), None);
    uart.write(1, 1, 1).unwrap(); // IER: received data available
    uart.input().push(b"k");
    assert_eq!(lines[0].get() & SEIP, 0);
    uart.poll();
    assert_eq!(lines[0].get() & SEIP, SEIP);
    // The kernel's handler: claim, read IIR and the byte, complete.
    assert_eq!(claim(&mut p, 1), 10);
    assert_eq!(uart.read(2, 1).unwrap() & 0xf, 4);
    assert_eq!(uart.read(0, 1).unwrap(), u64::from(b'k'));
    complete(&mut p, 1, 10);
    assert_eq!(lines[0].get() & SEIP, 0);
    assert_eq!(claim(&mut p, 1), 0);
}
