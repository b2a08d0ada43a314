//! Escape suite, disks (issue 8, row 1): a guest that writes a qcow2 header into its
//! raw disk must not make tern open the host files that header names, at the next boot
//! or ever; a hostile qcow2 chain (an image that is its own backing file) is a clean
//! error. Checked on the host side: the secret never reaches the guest's output, the
//! would-be data file keeps its bytes, tern exits with a message instead of a crash.

#[path = "common/tools_disk.rs"]
mod tools_disk;
#[path = "common/virt.rs"]
mod virt;

use std::path::{Path, PathBuf};

use tools_disk::{scratch, tool, tools_disk, DiskFile};
use virt::{sha256_file, Boot, Run};

fn qemu_img(args: &[&str]) {
    tool("qemu-img", "qemu-utils", args);
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A marker no file of the machine holds by chance.
fn marker() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("TERNSECRET{:x}{:x}", t, std::process::id())
}

fn boot(script: &str, args: &[&str], drives: &[String]) -> Run {
    let mut b = Boot::linux(1, Some(script), args);
    for d in drives {
        b = b.with(&["--drive", d]);
    }
    b.run()
}

/// Fails unless tern ended by itself (a status, not a signal or the timeout).
fn assert_clean_exit(run: &Run, what: &str) {
    assert!(
        run.status.is_some(),
        "{what}: tern did not exit cleanly (crashed or hung):\n{}",
        run.output
    );
}

struct Attack {
    tools: PathBuf,
    /// Raw disk whose guest wrote a header naming `secret` as backing file.
    backing_victim: PathBuf,
    /// Raw disk whose guest wrote a header naming `sentinel` as data file.
    data_victim: PathBuf,
    secret_marker: String,
    sentinel: PathBuf,
    sentinel_sha: String,
}

impl Attack {
    fn tools_drive(&self) -> String {
        format!("file={},format=raw", self.tools.display())
    }
}

/// Prepares the host files and lets a guest write the headers into its raw disks.
fn attack(dir: &Path) -> Attack {
    let secret_marker = marker();
    let secret = dir.join("secret");
    std::fs::write(&secret, format!("{secret_marker}-").repeat(4096)).unwrap();
    let sentinel = dir.join("sentinel");

    let hdr_backing = dir.join("hdr-backing.qcow2");
    qemu_img(&[
        "create",
        "-q",
        "-f",
        "qcow2",
        "-b",
        s(&secret),
        "-F",
        "raw",
        s(&hdr_backing),
        "1M",
    ]);
    let hdr_data = dir.join("hdr-data.qcow2");
    let opt = format!("data_file={},data_file_raw=on", s(&sentinel));
    qemu_img(&[
        "create",
        "-q",
        "-f",
        "qcow2",
        "-o",
        &opt,
        s(&hdr_data),
        "1M",
    ]);
    // qemu-img made the data file; now it gets the host's precious bytes.
    std::fs::write(&sentinel, b"SENTINELDATA".repeat(1 << 16)).unwrap();
    let sentinel_sha = sha256_file(&sentinel);

    let tools = tools_disk(
        dir,
        &[
            DiskFile::escape("disk-write.sh"),
            DiskFile::escape("disk-read.sh"),
            DiskFile::data("hdr-backing.qcow2", std::fs::read(&hdr_backing).unwrap()),
            DiskFile::data("hdr-data.qcow2", std::fs::read(&hdr_data).unwrap()),
        ],
    );
    let backing_victim = dir.join("vdb.raw");
    let data_victim = dir.join("vdc.raw");
    for v in [&backing_victim, &data_victim] {
        std::fs::write(v, vec![0u8; 4 << 20]).unwrap();
    }
    let a = Attack {
        tools,
        backing_victim,
        data_victim,
        secret_marker,
        sentinel,
        sentinel_sha,
    };
    let run = boot(
        "vda:disk-write.sh",
        &[
            "hdr-backing.qcow2",
            "/dev/vdb",
            "hdr-data.qcow2",
            "/dev/vdc",
        ],
        &[
            a.tools_drive(),
            format!("file={},format=raw", a.backing_victim.display()),
            format!("file={},format=raw", a.data_victim.display()),
        ],
    );
    run.expect("disk-write: done");
    for v in [&a.backing_victim, &a.data_victim] {
        let head = std::fs::read(v).unwrap();
        assert_eq!(&head[..4], b"QFI\xfb", "the guest's header is not in {v:?}");
    }
    a
}

/// What must hold after any later boot of the victims: the host side is untouched.
fn assert_host_untouched(a: &Attack, run: &Run, what: &str) {
    assert_clean_exit(run, what);
    assert!(
        !run.output.contains(&a.secret_marker),
        "{what}: the guest read the host's secret through its disk:\n{}",
        run.output
    );
    assert_eq!(
        sha256_file(&a.sentinel),
        a.sentinel_sha,
        "{what}: the guest wrote into the host's file {:?}",
        a.sentinel
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_guest_written_qcow2_header_opens_no_host_file() {
    let dir = scratch("disk-header");
    let a = attack(&dir);
    let victims = |opts: &str| {
        vec![
            a.tools_drive(),
            format!("file={}{opts}", a.backing_victim.display()),
            format!("file={}{opts}", a.data_victim.display()),
        ]
    };
    let read = |drives: &[String]| boot("vda:disk-read.sh", &["/dev/vdb", "/dev/vdc"], drives);

    // The next boot as a user would write it, without format=: never probed.
    let run = read(&victims(""));
    assert_host_untouched(&a, &run, "boot without format=");
    assert!(
        run.output.contains("format=qcow2") && run.output.contains("format=raw"),
        "the refusal should say which format= to add:\n{}",
        run.output
    );

    // A user who takes the disks for qcow2: the files their headers name are refused.
    for (victim, hint) in [
        (&a.backing_victim, "add backing="),
        (&a.data_victim, "add data-file="),
    ] {
        let run = read(&[
            a.tools_drive(),
            format!("file={},format=qcow2", victim.display()),
        ]);
        assert_host_untouched(&a, &run, "boot with format=qcow2");
        assert!(
            run.output.contains(hint),
            "expected {hint:?}:\n{}",
            run.output
        );
    }

    // As raw disks (what they are) the guest boots and sees the bytes it wrote.
    let run = read(&victims(",format=raw"));
    assert_host_untouched(&a, &run, "boot with format=raw");
    run.expect("disk-read: done");
    assert!(
        std::fs::read(&a.data_victim)
            .unwrap()
            .starts_with(b"GUEST-WAS-HERE"),
        "the guest's write should reach its own raw disk"
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn a_qcow2_image_that_is_its_own_backing_file_is_a_clean_error() {
    let dir = scratch("disk-self-backing");
    let me = dir.join("me.qcow2");
    qemu_img(&["create", "-q", "-f", "qcow2", s(&me), "1M"]);
    qemu_img(&[
        "rebase",
        "-q",
        "-u",
        "-f",
        "qcow2",
        "-b",
        "me.qcow2",
        "-F",
        "qcow2",
        s(&me),
    ]);
    for (opts, expect) in [
        ("", "format="),
        (",format=qcow2", "add backing="),
        (&format!(",format=qcow2,backing={}", me.display()), "loops"),
    ] {
        let run = boot(
            "/tests/poweroff.sh",
            &[],
            &[format!("file={}{opts}", me.display())],
        );
        assert_clean_exit(&run, &format!("--drive file=me.qcow2{opts}"));
        assert_ne!(run.status, Some(0), "{opts}: tern should refuse the image");
        assert!(
            run.output.contains(expect) && run.output.contains("me.qcow2"),
            "{opts}: expected a message with {expect:?} naming the image:\n{}",
            run.output
        );
    }
}
