//! A diagnostic: with `TERN_SANDBOX_SELFTEST=CALL` in its environment, tern makes a
//! forbidden host call itself right after confining, as a guest that found a way
//! to make the VMM call it would. The sandbox must stop the process there (a test
//! checks it does); if the call returns, tern says so and goes on.
//!
//! `CALL` is one of `ptrace`, `mount`, `bpf`, `unshare`, `keyctl` (stopped by the
//! trap) or `netlink` (a netlink socket, answered `EAFNOSUPPORT`).

/// The environment variable naming the call.
pub const ENV: &str = "TERN_SANDBOX_SELFTEST";

/// Makes the call named in [`ENV`], if any.
pub fn run_if_asked() {
    let Ok(call) = std::env::var(ENV) else { return };
    // SAFETY: each call is made with arguments that cannot touch this process's
    // memory (null pointers, integers); the point is whether the kernel lets it in.
    let r = unsafe {
        match call.as_str() {
            // Calls that would do nothing if they got through (no such process, no
            // such directory, bad arguments): the test is whether they get through.
            "ptrace" => libc::syscall(libc::SYS_ptrace, libc::PTRACE_PEEKDATA, 0, 0, 0),
            "mount" => libc::syscall(
                libc::SYS_mount,
                c"none".as_ptr(),
                c"/nonexistent-tern-selftest".as_ptr(),
                c"tmpfs".as_ptr(),
                0,
                0,
            ),
            "bpf" => libc::syscall(libc::SYS_bpf, -1, 0, 0),
            "unshare" => libc::syscall(libc::SYS_unshare, -1),
            "keyctl" => libc::syscall(libc::SYS_keyctl, -1, 0, 0, 0, 0),
            "netlink" => libc::syscall(
                libc::SYS_socket,
                libc::AF_NETLINK,
                libc::SOCK_RAW,
                libc::NETLINK_ROUTE,
            ),
            other => {
                eprintln!("tern: {ENV}: unknown call {other}");
                return;
            }
        }
    };
    let how = if r < 0 {
        std::io::Error::last_os_error().to_string()
    } else {
        "success".to_string()
    };
    eprintln!("tern: sandbox self-test: {call} returned {r} ({how})");
}
