//! Processes: `fork`, `execve`, `wait4`.
//!
//! A new guest process is a new host process. `fork` (and `clone` without
//! `CLONE_THREAD`, including Go's and glibc's `CLONE_VM | CLONE_VFORK`) forks the
//! emulator itself: the child gets a copy-on-write copy of the guest's physical memory
//! and page tables, the descriptor table (host descriptors are inherited, so pipes,
//! sockets and shared file offsets behave as on Linux), and continues as the calling
//! thread. Guest pids are host pids, so `wait4`, `kill` and `SIGCHLD` are the host's.
//!
//! `execve` of a riscv64 program (or a `#!` script) replaces the host process with a
//! fresh `tern exec` of the new program (the emulator's own executable with the same
//! file-view options), keeping the pid, the descriptors without `FD_CLOEXEC`, ignored
//! signals, the signal mask and the current directory, as the kernel's `execve` keeps
//! them. Other executables are run by the host directly (as `qemu-riscv64` does),
//! except under `--root`, where that would leave the confinement: `ENOEXEC` there.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::Ordering;

use tern_hart::HartState;

use crate::errno::{host, Errno, SysResult};
use crate::fs::resolve::Lookup;
use crate::syscalls::thread::flags::*;
use crate::syscalls::Flow;
use crate::task::{gettid, Task};

/// `fork` and its `clone` variants (`clone` without `CLONE_THREAD`:
/// `clone(flags, newsp, parent_tid, tls, child_tid)`); `regs` are the caller's
/// registers, which the child sets up for itself.
pub fn fork(t: &mut Task, regs: &mut HartState, a: [u64; 6]) -> Flow {
    let (fl, newsp, ptid, tls, ctid) = (a[0], a[1], a[2], a[3], a[4]);
    let vfork = fl & CLONE_VFORK != 0;
    // The child waits-for-exec pipe: the parent of a vfork reads until the child's
    // exec (CLOEXEC) or exit closes it.
    let mut vpipe = [-1i32; 2];
    if vfork {
        // SAFETY: two-element array.
        if unsafe { libc::pipe2(vpipe.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Flow::Ret(Err(Errno::last()));
        }
    }
    let _ = std::io::Write::flush(&mut std::io::stdout());
    // A restored process reads its memory from the snapshot when it first touches a
    // page, through a thread the child would not have: read the rest now. (If that
    // fails, the process is ending with the error already.)
    let ram = t.proc.mm().ram().clone();
    if ram.fill_pending().is_err() {
        return Flow::Ret(Err(Errno::EAGAIN));
    }
    // Hold the process's locks across the fork so that the child does not inherit
    // one held by another thread.
    let pid = {
        let _mm = t.proc.mm();
        let _files = t.proc.files();
        let _acts = t.proc.actions();
        let _p = t.proc.pending.lock().unwrap_or_else(|e| e.into_inner());
        let _tp = t
            .proc
            .thread_pending
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // SAFETY: fork; the child only continues this thread, whose state is ours.
        t.proc.pause.across_fork(|| unsafe { libc::fork() })
    };
    if pid < 0 {
        return Flow::Ret(Err(Errno::last()));
    }
    if pid == 0 {
        // Child: this thread is the only one.
        if vfork {
            // SAFETY: closing our copy of the read end.
            unsafe { libc::close(vpipe[0]) };
        }
        let old_tid = t.tid;
        t.tid = gettid();
        t.host_tid = t.tid;
        t.proc.shoot.retain_only(old_tid, t.tid);
        // SAFETY: getpid cannot fail.
        t.proc
            .pid
            .store(unsafe { libc::getpid() }, Ordering::Relaxed);
        t.proc.threads.store(1, Ordering::SeqCst);
        t.proc
            .thread_pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        if fl & CLONE_CHILD_SETTID != 0 {
            let _ = t.proc.write_u32(ctid, t.tid as u32);
        }
        if fl & CLONE_CHILD_CLEARTID != 0 {
            t.clear_child_tid = ctid;
        }
        let st = regs;
        if newsp != 0 {
            st.x[2] = newsp;
        }
        if fl & CLONE_SETTLS != 0 {
            st.x[4] = tls;
        }
        return Flow::Ret(Ok(0));
    }
    // The child has the parent's SysV segments attached.
    crate::syscalls::sysv_shm::forked(t, pid);
    if fl & CLONE_PARENT_SETTID != 0 {
        let _ = t.proc.write_u32(ptid, pid as u32);
    }
    if vfork {
        // SAFETY: closing our copy of the write end, then reading until EOF.
        unsafe {
            libc::close(vpipe[1]);
            let mut b = [0u8; 1];
            while libc::read(vpipe[0], b.as_mut_ptr().cast(), 1) > 0 {}
            libc::close(vpipe[0]);
        }
    }
    Flow::Ret(Ok(pid as u64))
}

/// Reads a NULL-terminated array of string pointers.
fn read_strings(t: &Task, va: u64) -> Result<Vec<Vec<u8>>, Errno> {
    let mut out = Vec::new();
    if va == 0 {
        return Ok(out);
    }
    let mut total = 0usize;
    for i in 0..(1 << 17) {
        let p = t.proc.read_u64(va.wrapping_add(8 * i))?;
        if p == 0 {
            return Ok(out);
        }
        let s = t.proc.mm().read_cstr(p, 1 << 17)?;
        total += s.len() + 1;
        if total > 2 << 20 {
            return Err(Errno(libc::E2BIG));
        }
        out.push(s);
    }
    Err(Errno(libc::E2BIG))
}

/// What kind of file an `execve` target is.
enum Target {
    /// A riscv64 ELF or a script: run by a new `tern exec`.
    Guest,
    /// Anything else the host can execute.
    Host,
}

/// Reads the first bytes of the file `loc` names and tells what it is.
fn classify(loc: &crate::fs::locate::Located<'_>) -> Result<Target, Errno> {
    let mut f = std::fs::File::from(loc.reopen(libc::O_RDONLY)?);
    let mut head = [0u8; 64];
    let n = std::io::Read::read(&mut f, &mut head)?;
    let head = &head[..n];
    if head.starts_with(b"#!") {
        return Ok(Target::Guest);
    }
    if head.len() >= 20 && head.starts_with(b"\x7fELF") {
        let machine = u16::from_le_bytes([head[18], head[19]]);
        if machine == 243 {
            return Ok(Target::Guest);
        }
        return Ok(Target::Host);
    }
    Err(Errno::ENOEXEC)
}

/// `execve`.
pub fn execve(t: &mut Task, a: [u64; 6]) -> SysResult {
    exec_common(t, libc::AT_FDCWD as u64, a[0], a[1], a[2])
}

/// `execveat` (paths relative to a directory descriptor).
pub fn execveat(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[4] != 0 {
        return Err(Errno::EINVAL);
    }
    exec_common(t, a[0], a[1], a[2], a[3])
}

fn exec_common(t: &mut Task, dirfd: u64, pathp: u64, argvp: u64, envp: u64) -> SysResult {
    let proc = std::sync::Arc::clone(&t.proc);
    let raw = proc.read_path(pathp)?;
    let d = crate::syscalls::path_args::dirfd_for(t, dirfd, &raw)?;
    // `/proc/self/exe` is the guest program, not the emulator.
    let self_exe = crate::syscalls::proc_self::is_self_exe(t, dirfd, &raw);
    let exe = if self_exe {
        proc.exe.lock().unwrap_or_else(|e| e.into_inner()).clone()
    } else {
        String::new()
    };
    let loc = if self_exe {
        crate::syscalls::proc_self::exe_located(&proc)?
    } else {
        crate::fs::locate::locate(proc.paths(), d, &raw, Lookup::Follow)?
    };
    let argv = read_strings(t, argvp)?;
    let env = read_strings(t, envp)?;
    // The object the lookup reached, nothing its name leads to later: execute
    // permission, a regular file, and what its first bytes say it is.
    let (ad, ap, extra) = loc.inspect()?;
    // SAFETY: valid C string, integer arguments.
    host(unsafe { libc::syscall(libc::SYS_faccessat2, ad, ap.as_ptr(), libc::X_OK, extra) })?;
    {
        // SAFETY: a local struct and a valid C string.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `st` is local and `ap` a valid C string.
        host(unsafe { libc::fstatat(ad, ap.as_ptr(), &mut st, extra) as i64 })?;
        if st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Err(Errno::EACCES);
        }
    }
    let target = classify(&loc)?;
    let cstrs = |v: &[Vec<u8>]| -> Result<Vec<CString>, Errno> {
        v.iter()
            .map(|s| CString::new(s.clone()).map_err(|_| Errno::EINVAL))
            .collect()
    };
    let envc = cstrs(&env)?;
    let (prog, args) = match target {
        Target::Host => {
            if proc.opts.view.confined() {
                return Err(Errno::ENOEXEC);
            }
            let (hd, hp) = loc.object_path()?;
            let p = if hd == libc::AT_FDCWD || hp.as_bytes().first() == Some(&b'/') {
                hp
            } else {
                // Relative to a directory descriptor: through that descriptor.
                CString::new(format!(
                    "/proc/thread-self/fd/{hd}/{}",
                    hp.to_string_lossy()
                ))
                .map_err(|_| Errno::EINVAL)?
            };
            (p, cstrs(&argv)?)
        }
        Target::Guest => {
            // The new `tern exec` looks the program up again by its guest path: the
            // walked one under --root (no links left to follow differently).
            let guest = match loc.guest() {
                Some(g) if proc.opts.view.confined() => String::from_utf8_lossy(g).into_owned(),
                _ if self_exe => exe,
                _ => crate::syscalls::path_args::guest_abs(t, d, &raw).ok_or(Errno::ENOENT)?,
            };
            let me = proc.opts.self_exe.clone().ok_or(Errno::ENOEXEC)?;
            let mut args: Vec<Vec<u8>> = vec![b"tern".to_vec(), b"exec".to_vec()];
            let mut opts = proc.opts.clone();
            opts.rlimits = crate::syscalls::misc::kept_limits(t);
            for o in opts.to_args(proc.insns.load(Ordering::Relaxed)) {
                args.push(o.into_bytes());
            }
            // The same policy and plugins in the new program.
            for o in crate::interpose::reexec_args() {
                args.push(o.into_bytes());
            }
            if let Some(a0) = argv.first() {
                args.push(b"--argv0".to_vec());
                args.push(a0.clone());
            }
            args.push(b"--".to_vec());
            args.push(guest.into_bytes());
            args.extend(argv.iter().skip(1).cloned());
            let prog = CString::new(me.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
            (prog, cstrs(&args)?)
        }
    };
    let mut argp: Vec<*const libc::c_char> = args.iter().map(|c| c.as_ptr()).collect();
    argp.push(std::ptr::null());
    let mut envpp: Vec<*const libc::c_char> = envc.iter().map(|c| c.as_ptr()).collect();
    envpp.push(std::ptr::null());
    let _ = std::io::Write::flush(&mut std::io::stdout());
    // The host mask is the guest's mask (it is kept across exec); the wake-up and
    // handler dispositions reset by themselves.
    if matches!(target, Target::Guest) {
        crate::ipc::pass_on_exec();
    }
    // SAFETY: NULL-terminated arrays of valid C strings that live across the call.
    let r = unsafe { libc::execve(prog.as_ptr(), argp.as_ptr(), envpp.as_ptr()) };
    let _ = r;
    crate::ipc::keep_private();
    Err(Errno::last())
}
