//! `tern run --plugin` (issue 15): the block and memory callbacks on a Linux
//! guest's harts. insn-count names the kernel's functions from vmlinux and counts
//! exactly what the harts retired; coverage lists the blocks the boot ran (the
//! kernel's entry among them); mem-trace stops at its limit and says so.

#[path = "common/virt.rs"]
mod virt;

/// The number after `prefix` in the first line of `text` that contains it.
fn number_after(text: &str, prefix: &str) -> u64 {
    text.lines()
        .find_map(|l| l.split_once(prefix))
        .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {prefix:?} in:\n{text}"))
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary and the Linux guest images"]
fn plugins_count_cover_and_trace_a_linux_boot() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugins-virt");
    std::fs::create_dir_all(&dir).expect("the test directory");
    let (cov, trace) = (dir.join("cov.txt"), dir.join("mem.txt"));
    let vmlinux = virt::images().vmlinux();
    let run = virt::Boot::linux(2, Some("/tests/poweroff.sh"), &[])
        .with(&[
            "--stats",
            "--plugin",
            &format!("insn-count={}", vmlinux.display()),
            "--plugin",
            &format!("coverage={},symbols={}", cov.display(), vmlinux.display()),
            "--plugin",
            &format!("mem-trace={},max=5000", trace.display()),
        ])
        .run();
    assert_eq!(run.status, Some(0), "{}", run.output);
    assert!(run.has_line("tern: run exit status 0"), "{}", run.output);
    let counted = number_after(&run.output, "tern insn-count: ");
    let stats = run
        .output
        .lines()
        .find(|l| l.starts_with("tern: ") && l.contains(" instructions in "))
        .unwrap_or_else(|| panic!("no --stats line:\n{}", run.output));
    let retired = number_after(stats, "tern: ");
    // The run loop also counts one for each trap taken at a block's first
    // instruction (an ecall, a page fault on fetch...).
    assert!(
        counted <= retired && retired - counted < retired / 1000,
        "insn-count {counted}, harts {retired}"
    );
    // The boot spends its time in named kernel functions.
    let named = run
        .output
        .lines()
        .filter(|l| l.contains('%') && !l.ends_with(" ?") && !l.contains("share"))
        .count();
    assert!(named >= 20, "{}", run.output);
    let cov = std::fs::read_to_string(&cov).expect("the coverage file");
    for f in ["start_kernel", "do_idle", "kernel_init"] {
        assert!(
            cov.lines().any(|l| l.ends_with(&format!(" {f}"))),
            "no {f} block in the coverage"
        );
    }
    let blocks = number_after(&cov, "# tern coverage: ");
    assert!(blocks > 5000, "{blocks} blocks");
    let trace = std::fs::read_to_string(&trace).expect("the trace file");
    assert_eq!(trace.lines().count(), 5001);
    let last = trace.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("# tern mem-trace: 5000 accesses recorded"),
        "{last}"
    );
    assert!(number_after(last, "recorded, ") > 1_000_000, "{last}");
    // The boot's first accesses: hart 0 clearing the kernel's bss (physical
    // addresses, before the MMU is on), 8 bytes at a time.
    for l in trace.lines().take(100) {
        let f: Vec<&str> = l.split(' ').collect();
        assert_eq!(f.len(), 5, "{l}");
        assert_eq!((f[0], f[3]), ("0", "8"), "{l}");
        let pc = u64::from_str_radix(f[1].trim_start_matches("0x"), 16).expect("pc");
        assert!((0x8020_0000..0x9000_0000).contains(&pc), "{l}");
    }
}
