//! `cargo xtask TASK`: project tasks that are more than one command.
//!
//! Tasks:
//! - `guest [--force]`: build the Linux guest images for the `virt` board (what is
//!   missing or out of date; `--force`: all) and print their directory on stdout.

#![forbid(unsafe_code)]

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask guest [--force]

  guest    build the Linux guest images for the virt board (Image, initramfs.cpio.gz,
           disk.ext4) into ${TERN_CACHE:-~/.cache/tern}/guest and print that directory;
           only what is missing or out of date is rebuilt (--force: everything).
           See guests/linux/README.md.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["guest"] | ["guest", "--force"] => {
            let force = args.len() == 2;
            match xtask::build_guest(force) {
                Ok(images) => {
                    println!("{}", images.dir.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("xtask guest: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        ["help"] | ["--help"] | ["-h"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
