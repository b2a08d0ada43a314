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
            "ptrace" => libc::syscall(libc::SYS_ptrace, libc::PTRACE_TRACEME, 0, 0, 0),
            "mount" => libc::syscall(
                libc::SYS_mount,
                std::ptr::null::<u8>(),
                c"/".as_ptr(),
                std::ptr::null::<u8>(),
                libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY,
                0,
            ),
            "bpf" => libc::syscall(libc::SYS_bpf, -1, 0, 0),
            "unshare" => libc::syscall(libc::SYS_unshare, libc::CLONE_NEWUSER),
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
