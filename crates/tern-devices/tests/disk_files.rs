//! Which files a qcow2 image may open besides itself: only the backing and data files
//! the user named, backing files read-only, chains bounded and without loops (images
//! made with `qemu-img`).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use tern_devices::virtio::disk::{
    open, DiskError, DiskFormat, DiskOptions, NamedFiles, MAX_BACKING_CHAIN,
};

fn qemu_img(args: &[&str]) {
    let out = Command::new("qemu-img")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run qemu-img ({e}): install the Debian package qemu-utils")
        });
    assert!(
        out.status.success(),
        "qemu-img {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn qemu_io(image: &Path, cmd: &str) {
    let out = Command::new("qemu-io")
        .args(["-f", "qcow2", "-c", cmd, image.to_str().unwrap()])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run qemu-io ({e}): install the Debian package qemu-utils")
        });
    assert!(out.status.success(), "qemu-io {cmd}");
}

/// A directory of its own for one test.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("tern-disk-files-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn qcow2(path: &Path, named: NamedFiles) -> DiskOptions {
    let mut o = DiskOptions::new(path, DiskFormat::Qcow2);
    o.named_files = named;
    o
}

fn backing(paths: &[&Path]) -> NamedFiles {
    NamedFiles {
        backing: paths.iter().map(|p| p.to_path_buf()).collect(),
        data_file: None,
    }
}

fn error(opts: &DiskOptions) -> String {
    match open(opts) {
        Ok(_) => panic!("{} opened, expected an error", opts.path.display()),
        Err(DiskError { source, .. }) => format!("{source:#}"),
    }
}

/// A qcow2 image over `base` (by its name relative to the image's directory).
fn overlay(top: &Path, base: &str, base_format: Option<&str>) {
    let mut args = vec!["create", "-q", "-f", "qcow2", "-u", "-b", base];
    if let Some(f) = base_format {
        args.extend(["-F", f]);
    }
    args.extend([top.to_str().unwrap(), "1M"]);
    qemu_img(&args);
}

#[test]
#[ignore = "full tier (scripts/test): needs qemu-img (qemu-utils)"]
fn a_backing_file_opens_only_when_named_and_only_read_only() {
    let s = Scratch::new("backing");
    let base = s.path("base.raw");
    std::fs::write(&base, vec![0x5a; 1 << 20]).unwrap();
    let top = s.path("top.qcow2");
    overlay(&top, "base.raw", Some("raw"));

    let e = error(&qcow2(&top, NamedFiles::default()));
    assert!(
        e.contains("backing file") && e.contains("add backing="),
        "{e}"
    );
    assert!(e.contains("base.raw"), "{e}");

    // Named through another path (a symlink): the same file, so it opens.
    let link = s.path("link.raw");
    std::os::unix::fs::symlink(&base, &link).unwrap();
    let mut disk = open(&qcow2(&top, backing(&[&link]))).unwrap();
    let mut buf = vec![0; 4096];
    disk.read_at(&mut buf, 8192).unwrap();
    assert_eq!(buf, vec![0x5a; 4096]);
    disk.write_at(&[1; 4096], 8192).unwrap();
    disk.flush().unwrap();
    drop(disk);
    assert!(std::fs::read(&base).unwrap().iter().all(|&b| b == 0x5a));

    // Read-only for tern even where the host would allow writing: a backing file
    // without write permission still opens (root ignores permissions, so check the
    // mode instead of relying on EACCES).
    std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o444)).unwrap();
    let mut disk = open(&qcow2(&top, backing(&[&base]))).unwrap();
    disk.read_at(&mut buf, 8192).unwrap();
    assert_eq!(buf, vec![1; 4096]);
}

#[test]
#[ignore = "full tier (scripts/test): needs qemu-img (qemu-utils)"]
fn a_data_file_opens_only_when_named_and_is_written() {
    let s = Scratch::new("data");
    let data = s.path("data.raw");
    let img = s.path("img.qcow2");
    let opt = format!("data_file={},data_file_raw=on", data.display());
    qemu_img(&[
        "create",
        "-q",
        "-f",
        "qcow2",
        "-o",
        &opt,
        img.to_str().unwrap(),
        "1M",
    ]);
    std::fs::write(&data, vec![0x11; 1 << 20]).unwrap();

    let e = error(&qcow2(&img, NamedFiles::default()));
    assert!(
        e.contains("external data file") && e.contains("add data-file="),
        "{e}"
    );
    // Named as a backing file is not enough for a data file.
    let e = error(&qcow2(&img, backing(&[&data])));
    assert!(e.contains("add data-file="), "{e}");

    let named = NamedFiles {
        backing: Vec::new(),
        data_file: Some(data.clone()),
    };
    let mut disk = open(&qcow2(&img, named.clone())).unwrap();
    disk.write_at(&[0x22; 512], 4096).unwrap();
    disk.flush().unwrap();
    drop(disk);
    assert_eq!(&std::fs::read(&data).unwrap()[4096..4608], &[0x22; 512][..]);

    // A read-only disk opens its data file read-only: the file's bytes stay.
    let mut ro = qcow2(&img, named);
    ro.read_only = true;
    let mut disk = open(&ro).unwrap();
    let mut buf = [0; 512];
    disk.read_at(&mut buf, 4096).unwrap();
    assert_eq!(buf, [0x22; 512]);
    assert!(disk.write_at(&[0x33; 512], 0).is_err());
}

#[test]
#[ignore = "full tier (scripts/test): needs qemu-img (qemu-utils)"]
fn a_raw_backing_file_that_holds_a_qcow2_header_cannot_reach_further() {
    // base.raw was a guest's raw disk: the guest wrote a qcow2 header naming a host
    // secret. An overlay whose header takes it for qcow2 (or has no backing format,
    // which makes imago probe; qemu-img no longer writes such headers) reads that
    // header: what it names must be refused one level down too.
    let s = Scratch::new("probe");
    let secret = s.path("secret");
    std::fs::write(&secret, b"host secret").unwrap();
    let base = s.path("base.raw");
    overlay(&base, "secret", Some("raw"));
    let top = s.path("top.qcow2");
    overlay(&top, "base.raw", Some("qcow2"));
    let e = error(&qcow2(&top, backing(&[&base])));
    assert!(e.contains("secret") && e.contains("add backing="), "{e}");
}

#[test]
#[ignore = "full tier (scripts/test): needs qemu-img (qemu-utils)"]
fn backing_chains_without_loops_and_bounded() {
    let s = Scratch::new("loops");
    // An image that is its own backing file.
    let me = s.path("me.qcow2");
    qemu_img(&["create", "-q", "-f", "qcow2", me.to_str().unwrap(), "1M"]);
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
        me.to_str().unwrap(),
    ]);
    let e = error(&qcow2(&me, backing(&[&me])));
    assert!(e.contains("loops"), "{e}");
    // Two images that are each other's backing file.
    let (a, b) = (s.path("a.qcow2"), s.path("b.qcow2"));
    overlay(&a, "b.qcow2", Some("qcow2"));
    overlay(&b, "a.qcow2", Some("qcow2"));
    let e = error(&qcow2(&a, backing(&[&a, &b])));
    assert!(e.contains("loops"), "{e}");

    // A chain one longer than the limit, every file named.
    let mut names = vec![s.path("l0.qcow2")];
    qemu_img(&[
        "create",
        "-q",
        "-f",
        "qcow2",
        names[0].to_str().unwrap(),
        "1M",
    ]);
    qemu_io(&names[0], "write -P 0x42 0 4k");
    for i in 1..=MAX_BACKING_CHAIN + 1 {
        let p = s.path(&format!("l{i}.qcow2"));
        overlay(&p, &format!("l{}.qcow2", i - 1), Some("qcow2"));
        names.push(p);
    }
    let all: Vec<&Path> = names.iter().map(PathBuf::as_path).collect();
    let e = error(&qcow2(&names[MAX_BACKING_CHAIN + 1], backing(&all)));
    assert!(e.contains("longer than"), "{e}");
    // At the limit it opens, and the bottom image's data shows through.
    let mut disk = open(&qcow2(&names[MAX_BACKING_CHAIN], backing(&all))).unwrap();
    let mut buf = [0; 512];
    disk.read_at(&mut buf, 0).unwrap();
    assert_eq!(buf, [0x42; 512]);
}

#[test]
fn raw_images_take_no_named_files() {
    let s = Scratch::new("raw");
    let img = s.path("img.raw");
    std::fs::write(&img, [0; 4096]).unwrap();
    let mut o = DiskOptions::new(&img, DiskFormat::Raw);
    o.named_files = backing(&[&img]);
    assert!(error(&o).contains("qcow2 images only"));
}
