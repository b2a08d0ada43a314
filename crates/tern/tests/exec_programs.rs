//! `tern exec` runs the C programs of `guests/linux-user/`, static and dynamically
//! linked, with the same stdout and exit status as `qemu-riscv64`.

#[path = "common/linux_user.rs"]
mod linux_user;

use linux_user::{compare, Link};

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use super::*;

                #[test]
                #[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
                fn static_binary() {
                    compare(stringify!($name), Link::Static, &[]);
                }

                #[test]
                #[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
                fn dynamic_binary() {
                    compare(stringify!($name), Link::Dynamic, &[]);
                }
            }
        )*
    };
}

both!(hello, memory, files, dirent, signals, threads, pipes, sockets, shared);

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn hello_arguments_and_exit_status() {
    let o = compare("hello", Link::Static, &["42", "two words"]);
    assert_eq!(o.status, 42);
    assert!(o.stdout.contains("argv[2]=two words"), "{}", o.stdout);
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn signals_end_the_process_by_sigterm() {
    let o = compare("signals", Link::Static, &[]);
    assert_eq!(o.status, 128 + 15, "the program ends by raising SIGTERM");
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn threads_count_exactly_under_contention() {
    let o = compare("threads", Link::Dynamic, &[]);
    assert!(
        o.stdout.contains("counter=160000 atomic=160000"),
        "{}",
        o.stdout
    );
}

#[test]
#[ignore = "full tier (scripts/test): needs the tern binary, riscv64 guests and tools (QEMU, cross toolchains)"]
fn strace_decodes_calls_and_reports_unknown_ones_once() {
    let o = compare("hello", Link::Static, &["nosys"]);
    assert_eq!(o.stdout, "nosys: -1 -1, ENOSYS: 1\n");
    let prog = linux_user::build("hello", Link::Static);
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_tern"));
    c.args(["exec", "--strace"]).arg(&prog).arg("nosys");
    let o = linux_user::run(c, std::time::Duration::from_secs(60));
    assert_eq!(o.status, 0);
    let unknown = o
        .stderr
        .lines()
        .filter(|l| l.contains("unimplemented system call 4000"))
        .count();
    assert_eq!(unknown, 1, "{}", o.stderr);
    assert!(
        o.stderr
            .contains(r#"write(1, "nosys: -1 -1, ENOSYS: 1\n", 24) = 24"#),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("exit_group(0) = ?"), "{}", o.stderr);
    assert!(
        o.stderr.contains("syscall_4000(") && o.stderr.contains("= -1 ENOSYS"),
        "{}",
        o.stderr
    );
}
