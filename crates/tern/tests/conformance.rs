//! tern's hart conformance suite: the assembly tests in `guests/baremetal/conformance/`.
//!
//! Each `*.S` file is built with the bare-metal cross compiler and run on the `spike`
//! board of QEMU (the reference: a test that passes there is a correct test) and of
//! tern. Both must exit with status 0 (every check passed; otherwise the status is the
//! number of the first failing check), print the same console output, and end it with
//! the line the test frame prints after its last check (so that a run which never
//! executed the test cannot pass).
//!
//! A file whose header has a line `// qemu: no <reason>` tests something QEMU 7.2 lacks;
//! it runs on tern only, and the test says so on its output. A line
//! `// qemu-args: ARGS` adds options to the QEMU command line (the file says why).

#[path = "common/baremetal.rs"]
mod baremetal;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

const QEMU_TIMEOUT: Duration = Duration::from_secs(30);
const TERN_TIMEOUT: Duration = Duration::from_secs(60);
/// What `TEST_END` prints when every check passed (test_macros.h).
const PASSED: &str = "conformance: all checks passed\n";

fn conformance_dir() -> PathBuf {
    baremetal::guests_dir().join("conformance")
}

/// The reason given by a `// qemu: no <reason>` marker, if the file has one.
fn qemu_exemption(source: &str) -> Option<String> {
    source.lines().find_map(|line| {
        line.trim().strip_prefix("// qemu: no").map(|reason| {
            reason
                .trim_start_matches([' ', '—', '-', ':'])
                .trim_end()
                .to_string()
        })
    })
}

/// Extra QEMU options from a `// qemu-args: ...` marker.
fn qemu_extra_args(source: &str) -> Vec<String> {
    source
        .lines()
        .filter_map(|line| line.trim().strip_prefix("// qemu-args:"))
        .flat_map(|args| args.split_whitespace().map(str::to_string))
        .collect()
}

fn run_conformance(name: &str) {
    let src = conformance_dir().join(format!("{name}.S"));
    let text =
        std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("reading {}: {e}", src.display()));
    let elf = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("conformance/{name}.elf"));
    baremetal::build_asm(&src, &[conformance_dir()], &elf).unwrap_or_else(|e| panic!("{e}"));

    let qemu = match qemu_exemption(&text) {
        Some(reason) => {
            // Straight to the stderr handle, not eprintln!: the test harness captures
            // print macros, and this note must show even when the test passes.
            let _ = writeln!(
                std::io::stderr(),
                "{name}.S: run on tern only, not on QEMU: {reason}"
            );
            None
        }
        None => {
            let extra = qemu_extra_args(&text);
            let out = baremetal::run_qemu_spike(&elf, &extra, QEMU_TIMEOUT)
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(
                out.code == Some(0) && !out.timed_out && out.stdout.ends_with(PASSED),
                "{name}.S fails on QEMU (the test itself is wrong, or QEMU differs): {}",
                out.describe()
            );
            Some(out)
        }
    };

    let tern = baremetal::run_tern_spike(&elf, TERN_TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        tern.code == Some(0) && !tern.timed_out && tern.stdout.ends_with(PASSED),
        "{name}.S fails on tern (status = number of the first failing check): {}",
        tern.describe()
    );
    if let Some(qemu) = qemu {
        assert_eq!(
            tern.stdout, qemu.stdout,
            "{name}.S: console output differs between tern and QEMU"
        );
    }
}

/// A control: a program that fails check 7 after printing a line must make both
/// emulators exit with status 7 and print that line, so that an emulator that exits
/// with 0 without running anything cannot pass the suite.
#[test]
fn harness_sees_failures() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("conformance");
    std::fs::create_dir_all(&dir).expect("creating the output directory");
    let src = dir.join("control_fails_7.S");
    std::fs::write(
        &src,
        "#include \"test_macros.h\"\nTEST_BEGIN\n    TEST_CASE(7, a0, 2, li a0, 1)\nTEST_END\n",
    )
    .expect("writing the control program");
    let elf = dir.join("control_fails_7.elf");
    baremetal::build_asm(&src, &[conformance_dir()], &elf).unwrap_or_else(|e| panic!("{e}"));
    let expected = "conformance: check 7 failed: got 0000000000000001 expected 0000000000000002\n";
    let qemu = baremetal::run_qemu_spike(&elf, &[], QEMU_TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        qemu.code == Some(7) && qemu.stdout == expected,
        "QEMU: {}",
        qemu.describe()
    );
    let tern = baremetal::run_tern_spike(&elf, TERN_TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        tern.code == Some(7) && tern.stdout == expected,
        "tern: {}",
        tern.describe()
    );
}

/// One `#[test]` per conformance file, named after it.
macro_rules! conformance_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run_conformance(stringify!($name));
            }
        )*

        /// Every `conformance/*.S` has a test above, and every test has its file.
        #[test]
        fn every_file_has_a_test() {
            let listed: std::collections::BTreeSet<&str> = [$(stringify!($name)),*].into();
            let mut on_disk = std::collections::BTreeSet::new();
            for entry in std::fs::read_dir(conformance_dir()).expect("reading conformance/") {
                let path = entry.expect("reading conformance/").path();
                if path.extension().is_some_and(|e| e == "S") {
                    on_disk.insert(path.file_stem().unwrap().to_string_lossy().into_owned());
                }
            }
            let on_disk: std::collections::BTreeSet<&str> = on_disk.iter().map(String::as_str).collect();
            assert_eq!(listed, on_disk, "conformance_tests! list and conformance/*.S differ");
        }
    };
}

conformance_tests! {
    rv64i,
    rv64m,
    rv64a,
    rv64f,
    rv64d,
    fp_vectors_s,
    fp_vectors_d,
    fp_vectors_cvt,
    rvc,
    zicsr,
    qemu_deviations,
    zba,
    zbb,
    zbs,
    zicond,
    zicboz,
    zifencei,
    zihintpause,
    exceptions,
    delegation,
    trap_stack,
    tvec,
    status_traps,
    fs,
    interrupts,
    counters,
    counters_exact,
    envcfg,
    misa,
    pmp,
    sv39,
    vm_priv,
    sv48,
    sv57,
    sstc,
    mstatus,
    sdtrig,
}
