//! tern's hart conformance suite: the assembly tests in `guests/baremetal/conformance/`.
//!
//! Each `*.S` file is built with the bare-metal cross compiler and run on the `spike`
//! board of QEMU (the reference: a test that passes there is a correct test) and of
//! tern. Both must exit with status 0 (every check passed; otherwise the status is the
//! number of the first failing check) and print the same console output.
//!
//! A file whose header has a line `// qemu: no <reason>` tests something QEMU 7.2 lacks;
//! it runs on tern only, and the test says so on its output.

#[path = "common/baremetal.rs"]
mod baremetal;

use std::path::PathBuf;
use std::time::Duration;

const QEMU_TIMEOUT: Duration = Duration::from_secs(30);
const TERN_TIMEOUT: Duration = Duration::from_secs(60);

fn conformance_dir() -> PathBuf {
    baremetal::guests_dir().join("conformance")
}

/// The reason given by a `// qemu: no <reason>` marker, if the file has one.
fn qemu_exemption(source: &str) -> Option<String> {
    source.lines().find_map(|line| {
        line.trim().strip_prefix("// qemu: no").map(|reason| reason.trim().to_string())
    })
}

fn run_conformance(name: &str) {
    let src = conformance_dir().join(format!("{name}.S"));
    let text = std::fs::read_to_string(&src)
        .unwrap_or_else(|e| panic!("reading {}: {e}", src.display()));
    let elf = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("conformance/{name}.elf"));
    baremetal::build_asm(&src, &[conformance_dir()], &elf).unwrap_or_else(|e| panic!("{e}"));

    let qemu = match qemu_exemption(&text) {
        Some(reason) => {
            println!("{name}.S: run on tern only, not on QEMU: {reason}");
            None
        }
        None => {
            let out = baremetal::run_qemu_spike(&elf, QEMU_TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                out.code == Some(0) && !out.timed_out,
                "{name}.S fails on QEMU (the test itself is wrong, or QEMU differs): {}",
                out.describe()
            );
            Some(out)
        }
    };

    let tern = baremetal::run_tern_spike(&elf, TERN_TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        tern.code == Some(0) && !tern.timed_out,
        "{name}.S fails on tern (status = number of the first failing check): {}",
        tern.describe()
    );
    if let Some(qemu) = qemu {
        assert_eq!(tern.stdout, qemu.stdout, "{name}.S: console output differs between tern and QEMU");
    }
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
}
