//! Times tern-fpu operations: nanoseconds per operation for the crate-root API (host
//! fast paths under RNE), the same API under RTZ (the exact path for arithmetic), and
//! `tern_fpu::exact` under RNE.
//!
//! Run: `cargo run --release -p tern-fpu --example fpu_bench [ops [filter]]` (default
//! 10^7 ops per line, timed as five runs of a fifth each, best run reported; `filter`
//! keeps only lines whose label contains it). Operands are ordinary normal numbers,
//! the case a floating-point benchmark mostly sees.

use std::hint::black_box;
use std::time::Instant;
use tern_fpu::{exact, Flags, Rm};

const N: usize = 1024;

/// Deterministic operands: normal doubles in [0.5, 8) with random signs and fractions.
fn operands(seed: u64) -> Vec<u64> {
    let mut x = seed;
    (0..N)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits((x >> 12) | 0x3ff0_0000_0000_0000) * 4.0 - 3.5;
            v.to_bits()
        })
        .collect()
}

/// Nanoseconds this thread has spent on a CPU (Linux `/proc/thread-self/schedstat`),
/// so that time the machine gives to other processes is not counted; wall-clock time
/// where that file does not exist.
fn cpu_ns(start: Instant) -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|t| t.parse::<f64>().ok())
        })
        .unwrap_or_else(|| start.elapsed().as_secs_f64() * 1e9)
}

/// Runs `f` over the operand tables `ops` times, five times over, and prints the best
/// run in CPU time (the machine is shared; the minimum is the least disturbed run).
fn time<F: Fn(usize) -> (u64, Flags)>(label: &str, ops: usize, f: F) {
    if let Some(filter) = std::env::args().nth(2) {
        if !label.contains(&filter) {
            return;
        }
    }
    let origin = Instant::now();
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let start = cpu_ns(origin);
        let mut acc = 0u64;
        let mut flags = 0u8;
        for i in 0..ops / 5 {
            let (r, fl) = f(i % N);
            acc = acc.wrapping_add(r);
            flags |= fl.bits();
        }
        black_box((acc, flags));
        best = best.min((cpu_ns(origin) - start) / (ops / 5) as f64);
    }
    println!("{label:<34} {best:7.2} ns/op");
}

fn main() {
    let ops: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let a = black_box(operands(1));
    let b = black_box(operands(2));
    let c = black_box(operands(3));
    let s = |v: &Vec<u64>| -> Vec<u32> {
        v.iter()
            .map(|&x| (f64::from_bits(x) as f32).to_bits())
            .collect()
    };
    let (a32, b32, c32) = (black_box(s(&a)), black_box(s(&b)), black_box(s(&c)));
    let w = |r: (u32, Flags)| (r.0 as u64, r.1);
    let i = |r: (i64, Flags)| (r.0 as u64, r.1);
    let i32_ = |r: (i32, Flags)| (r.0 as u64, r.1);
    let ints: Vec<i64> = a
        .iter()
        .map(|&x| (f64::from_bits(x) * 1e17) as i64)
        .collect();

    println!("{ops} operations per line");
    for (path, rm) in [("api RNE", Rm::Rne), ("api RTZ", Rm::Rtz)] {
        time(&format!("fadd.d {path}"), ops, |k| {
            tern_fpu::add_d(a[k], b[k], rm)
        });
        time(&format!("fmul.d {path}"), ops, |k| {
            tern_fpu::mul_d(a[k], b[k], rm)
        });
        time(&format!("fdiv.d {path}"), ops, |k| {
            tern_fpu::div_d(a[k], b[k], rm)
        });
        time(&format!("fsqrt.d {path}"), ops, |k| {
            tern_fpu::sqrt_d(a[k] & !(1 << 63), rm)
        });
        time(&format!("fmadd.d {path}"), ops, |k| {
            tern_fpu::fma_d(a[k], b[k], c[k], rm)
        });
        time(&format!("fadd.s {path}"), ops, |k| {
            w(tern_fpu::add_s(a32[k], b32[k], rm))
        });
        time(&format!("fmul.s {path}"), ops, |k| {
            w(tern_fpu::mul_s(a32[k], b32[k], rm))
        });
        time(&format!("fdiv.s {path}"), ops, |k| {
            w(tern_fpu::div_s(a32[k], b32[k], rm))
        });
        time(&format!("fsqrt.s {path}"), ops, |k| {
            w(tern_fpu::sqrt_s(a32[k] & !(1 << 31), rm))
        });
        time(&format!("fmadd.s {path}"), ops, |k| {
            w(tern_fpu::fma_s(a32[k], b32[k], c32[k], rm))
        });
        time(&format!("fcvt.s.d {path}"), ops, |k| {
            w(tern_fpu::d_to_s(a[k], rm))
        });
        time(&format!("fcvt.l.d {path}"), ops, |k| {
            i(tern_fpu::to_i64_d(a[k], rm))
        });
        time(&format!("fcvt.w.s {path}"), ops, |k| {
            i32_(tern_fpu::to_i32_s(a32[k], rm))
        });
        time(&format!("fcvt.d.l {path}"), ops, |k| {
            tern_fpu::from_i64_d(ints[k], rm)
        });
    }
    let rm = Rm::Rne;
    let path = "exact RNE";
    time(&format!("fadd.d {path}"), ops, |k| {
        exact::add_d(a[k], b[k], rm)
    });
    time(&format!("fmul.d {path}"), ops, |k| {
        exact::mul_d(a[k], b[k], rm)
    });
    time(&format!("fdiv.d {path}"), ops, |k| {
        exact::div_d(a[k], b[k], rm)
    });
    time(&format!("fsqrt.d {path}"), ops, |k| {
        exact::sqrt_d(a[k] & !(1 << 63), rm)
    });
    time(&format!("fmadd.d {path}"), ops, |k| {
        exact::fma_d(a[k], b[k], c[k], rm)
    });
    time(&format!("fadd.s {path}"), ops, |k| {
        w(exact::add_s(a32[k], b32[k], rm))
    });
    time(&format!("fmul.s {path}"), ops, |k| {
        w(exact::mul_s(a32[k], b32[k], rm))
    });
    time(&format!("fdiv.s {path}"), ops, |k| {
        w(exact::div_s(a32[k], b32[k], rm))
    });
    time(&format!("fsqrt.s {path}"), ops, |k| {
        w(exact::sqrt_s(a32[k] & !(1 << 31), rm))
    });
    time(&format!("fmadd.s {path}"), ops, |k| {
        w(exact::fma_s(a32[k], b32[k], c32[k], rm))
    });
    time(&format!("fcvt.l.d {path}"), ops, |k| {
        i(exact::to_i64_d(a[k], rm))
    });
    time(&format!("fcvt.d.l {path}"), ops, |k| {
        exact::from_i64_d(ints[k], rm)
    });
    time("feq.d", ops, |k| {
        let (r, f) = tern_fpu::eq_d(a[k], b[k]);
        (r as u64, f)
    });
    time("fmin.d", ops, |k| tern_fpu::min_d(a[k], b[k]));
}
