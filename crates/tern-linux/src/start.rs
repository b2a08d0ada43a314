//! Starting a program in a new process VM: load it (and its interpreter), build the
//! initial stack, run the main thread.

use std::os::fd::AsRawFd;
use std::sync::Arc;

use crate::errno::Errno;
use crate::fs::locate::{locate, Located};
use crate::fs::resolve::{walk, Lookup};
use crate::loader::{self, Image};
use crate::mm::vma::{Backing, Vma, PROT_EXEC, PROT_READ, PROT_WRITE};
use crate::mm::{page_up, SIGPAGE, STACK_SIZE, STACK_TOP};
use crate::process::{Options, Process};
use crate::signal::TRAMPOLINE;
use crate::stack::{self, StackParams};
use crate::thread::Thread;

/// The program to run.
#[derive(Clone, Debug)]
pub struct Program {
    /// Path of the executable (guest path, resolved in the file view).
    pub path: String,
    /// Arguments, `argv[0]` included.
    pub argv: Vec<Vec<u8>>,
    /// Environment strings.
    pub envp: Vec<Vec<u8>>,
}

/// Where the main thread starts.
struct Entry {
    pc: u64,
    sp: u64,
}

/// Reads the whole file `loc` names (at most `limit` bytes: a program larger than
/// the process's memory cannot be loaded anyway): (host path, bytes). Errors name
/// `what`, never the file's contents.
fn read_located(
    loc: &Located<'_>,
    what: &str,
    limit: u64,
) -> Result<(std::path::PathBuf, Vec<u8>), String> {
    let msg = |e: Errno| format!("{what}: {}", std::io::Error::from_raw_os_error(e.0));
    let fd = loc.reopen(libc::O_RDONLY).map_err(msg)?;
    let host =
        std::fs::read_link(format!("/proc/thread-self/fd/{}", fd.as_raw_fd())).unwrap_or_default();
    let mut data = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(std::fs::File::from(fd), limit + 1),
        &mut data,
    )
    .map_err(|e| format!("{what}: {e}"))?;
    if data.len() as u64 > limit {
        return Err(format!("{what}: larger than the process's memory"));
    }
    Ok((host, data))
}

/// Reads the executable at guest path `path`: (guest path, host path, bytes).
fn read_exec(proc: &Process, path: &str) -> Result<(String, std::path::PathBuf, Vec<u8>), String> {
    let loc = locate(
        proc.paths(),
        libc::AT_FDCWD,
        path.as_bytes(),
        Lookup::Follow,
    )
    .map_err(|e| format!("{path}: {}", std::io::Error::from_raw_os_error(e.0)))?;
    let (host, data) = read_located(&loc, path, proc.opts.memory)?;
    let cwd = proc.cwd();
    let guest = match loc.guest() {
        Some(g) if proc.opts.view.confined() => String::from_utf8_lossy(g).into_owned(),
        _ if path.starts_with('/') => crate::fs::view::normalize(path),
        _ => crate::fs::view::normalize(&format!("{cwd}/{path}")),
    };
    Ok((guest, host, data))
}

/// Loads `prog` into the (empty) address space of `proc`.
fn load_program(proc: &Arc<Process>, prog: &Program) -> Result<Entry, String> {
    let mut argv = prog.argv.clone();
    let mut path = prog.path.clone();
    let (mut guest, mut host, mut data) = read_exec(proc, &path)?;
    // `#!` scripts: the interpreter runs with the script as argument (binfmt_script).
    for _ in 0..4 {
        if !data.starts_with(b"#!") {
            break;
        }
        let line = data[2..]
            .split(|&b| b == b'\n')
            .next()
            .unwrap_or(&[])
            .to_vec();
        let line = String::from_utf8_lossy(&line).trim().to_string();
        let (interp, arg) = match line.split_once([' ', '\t']) {
            Some((i, a)) => (i.to_string(), Some(a.trim().to_string())),
            None => (line.clone(), None),
        };
        if interp.is_empty() {
            return Err(format!("{path}: bad interpreter line"));
        }
        let mut new_argv = vec![interp.clone().into_bytes()];
        if let Some(a) = arg {
            new_argv.push(a.into_bytes());
        }
        new_argv.push(path.clone().into_bytes());
        new_argv.extend(argv.iter().skip(1).cloned());
        argv = new_argv;
        path = interp;
        (guest, host, data) = read_exec(proc, &path)?;
    }
    if !loader::is_elf(&data) {
        return Err(format!(
            "{path}: {}",
            std::io::Error::from_raw_os_error(Errno::ENOEXEC.0)
        ));
    }
    let mut mm = proc.mm();
    let image = loader::load(&mut mm, &data, &guest, true).map_err(|e| format!("{path}: {e}"))?;
    let mut interp_image: Option<Image> = None;
    if let Some(interp) = &image.interp {
        let (ig, _ih, idata) = read_interp(proc, interp)?;
        if !loader::is_elf(&idata) {
            return Err(format!(
                "{interp}: {} (the program's dynamic loader)",
                std::io::Error::from_raw_os_error(Errno::ENOEXEC.0)
            ));
        }
        let img =
            loader::load(&mut mm, &idata, &ig, false).map_err(|e| format!("{interp}: {e}"))?;
        interp_image = Some(img);
    }
    mm.brk_start = page_up(image.end);
    mm.brk = mm.brk_start;
    mm.map(Vma {
        start: STACK_TOP - STACK_SIZE,
        end: STACK_TOP,
        prot: PROT_READ | PROT_WRITE,
        shared: false,
        backing: Backing::Stack,
    });
    mm.map(Vma {
        start: SIGPAGE,
        end: SIGPAGE + 4096,
        prot: PROT_READ | PROT_EXEC,
        shared: false,
        backing: Backing::Sigpage,
    });
    let mut tramp = Vec::new();
    for w in TRAMPOLINE {
        tramp.extend_from_slice(&w.to_le_bytes());
    }
    mm.poke(SIGPAGE, &tramp)
        .map_err(|_| "out of memory".to_string())?;
    let mut random = [0u8; 16];
    // SAFETY: getrandom into a local buffer.
    unsafe { libc::getrandom(random.as_mut_ptr().cast(), 16, 0) };
    // SAFETY: the id getters cannot fail.
    let ids = unsafe {
        [
            u64::from(libc::getuid()),
            u64::from(libc::geteuid()),
            u64::from(libc::getgid()),
            u64::from(libc::getegid()),
        ]
    };
    let params = StackParams {
        argv: &argv,
        envp: &prog.envp,
        image: &image,
        interp_base: interp_image.as_ref().map_or(0, |i| i.bias),
        execfn: prog.path.as_bytes(),
        random,
        ids,
    };
    let sp =
        stack::build(&mut mm, STACK_TOP, &params).map_err(|_| "arguments too long".to_string())?;
    drop(mm);
    *proc.exe.lock().unwrap_or_else(|e| e.into_inner()) = guest;
    *proc.exe_host.lock().unwrap_or_else(|e| e.into_inner()) = host;
    let pc = interp_image.as_ref().map_or(image.entry, |i| i.entry);
    Ok(Entry { pc, sp })
}

/// Reads the dynamic loader named by `PT_INTERP`: from `--sysroot` first (walked
/// inside the sysroot: `..` and links stay in it), then through the file view.
fn read_interp(
    proc: &Process,
    interp: &str,
) -> Result<(String, std::path::PathBuf, Vec<u8>), String> {
    if let Some(sys) = proc.anchors.sysroot() {
        if let Ok(w) = walk(sys, None, interp.as_bytes(), Lookup::Follow) {
            let loc = Located::from_walk(w, Lookup::Follow);
            if let Ok((host, data)) = read_located(&loc, interp, proc.opts.memory) {
                return Ok((interp.to_string(), host, data));
            }
        }
    }
    read_exec(proc, interp).map_err(|e| {
        format!("{e} (the program's dynamic loader; give the riscv64 libraries with --sysroot)")
    })
}

/// Runs `prog` in a new process VM. Returns only when the program cannot be
/// started: the host process ends with the program.
pub fn exec(opts: Options, prog: Program) -> Result<i32, String> {
    exec_with(opts, prog, |_| {})
}

/// Like [`exec`], calling `ready` with the process once it is loaded (for `--stats`).
pub fn exec_with(
    opts: Options,
    prog: Program,
    ready: impl FnOnce(&Arc<Process>),
) -> Result<i32, String> {
    let proc = Process::new(opts)?;
    crate::exit::install_panic_hook(proc.fd_limit);
    if proc.opts.ipc_fd.is_some() {
        // The program before `execve` may have left undo records to apply when this
        // process ends.
        crate::syscalls::sysv_sem::undo_hook();
    }
    crate::ipc::init(proc.opts.ipc_fd, proc.fd_limit, proc.opts.memory)?;
    if proc.opts.ipc_fd.is_some() {
        // `execve` detached the old program's segments.
        crate::syscalls::sysv_shm::exec_detached();
    }
    // Hooks (`--policy`, plugins) resolve their paths in the file view now.
    crate::interpose::attach(&proc)?;
    let entry = load_program(&proc, &prog)?;
    ready(&proc);
    let mut t = Thread::new(proc.clone(), entry.pc, entry.sp);
    // The signal mask survives execve (it is the host thread's, mirrored).
    t.task.sigmask = crate::signal::inherited_mask();
    let _status = t.run();
    // The main thread ended with `exit` while other threads run on (the last one to
    // end ends the process): returning would end them all.
    loop {
        std::thread::park();
    }
}
