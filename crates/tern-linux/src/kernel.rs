//! The system-call dispatch: from the riscv64 (asm-generic) number to the handler
//! of [`crate::syscalls`], above all of them.
//!
//! [`crate::thread::Thread`]'s run loop calls [`dispatch`] for every `ecall` with the
//! thread's kernel state and its hart; the handlers below see only what they need
//! of those (most the [`Task`] alone).

use syscalls::riscv64::Sysno;
use tern_hart::Hart;

use crate::errno::Errno;
use crate::sigframe;
use crate::syscalls::thread::flags::CLONE_THREAD;
use crate::syscalls::xattr::Target::{Fd as XFd, Link as XLink, Path as XPath};
use crate::syscalls::{fs, io, misc, mm, net, poll, proc, sched, signal, thread, time, wait, Flow};
use crate::task::Task;

/// The number of `exit_group`.
pub const EXIT_GROUP: u64 = Sysno::exit_group as u64;

/// Whether a call interrupted by a signal is restarted after a handler with
/// `SA_RESTART` (Linux's `-ERESTARTSYS`); the waits that return `-ERESTARTNOHAND`
/// (`ppoll`, `pselect6`, `epoll_pwait`, `nanosleep`, `rt_sigsuspend`...) are not,
/// nor are the SysV IPC waits (signal(7)).
pub fn restartable(nr: u64) -> bool {
    !matches!(
        Sysno::new(nr as usize),
        Some(
            Sysno::ppoll
                | Sysno::pselect6
                | Sysno::epoll_pwait
                | Sysno::epoll_pwait2
                | Sysno::nanosleep
                | Sysno::clock_nanosleep
                | Sysno::rt_sigsuspend
                | Sysno::rt_sigtimedwait
                | Sysno::semop
                | Sysno::semtimedop
                | Sysno::msgsnd
                | Sysno::msgrcv
        )
    )
}

/// Runs system call `nr` with arguments `a` for the calling thread `t`, whose
/// registers are `hart`'s (read by `clone`, set by `rt_sigreturn` and a forked
/// child).
pub fn dispatch(t: &mut Task, hart: &mut Hart, nr: u64, a: [u64; 6]) -> Flow {
    let Some(sys) = Sysno::new(nr as usize) else {
        t.proc.strace.unknown(t.tid, nr);
        return Flow::Ret(Err(Errno::ENOSYS));
    };
    use Sysno as S;
    let r = match sys {
        // Process and thread lifetime.
        S::exit => return thread::exit(t, a[0] as i32),
        S::exit_group => crate::exit::exit_process(a[0] as i32),
        S::rt_sigreturn => return sigframe::sigreturn(t, hart.state_mut()),
        S::clone if a[0] & CLONE_THREAD != 0 => return thread::clone_thread(t, hart.state(), a),
        S::clone => return proc::fork(t, hart.state_mut(), a),
        S::clone3 => Err(Errno::ENOSYS),
        S::execve => proc::execve(t, a),
        S::execveat => proc::execveat(t, a),
        S::wait4 => wait::wait4(t, a),
        S::waitid => wait::waitid(t, a),
        S::set_tid_address => thread::set_tid_address(t, a),
        S::set_robust_list => thread::set_robust_list(t, a),
        S::get_robust_list => thread::get_robust_list(t, a),
        S::futex => crate::futex::futex(&t.proc, a, || t.signal_pending()),
        S::gettid => Ok(t.tid as u64),
        // Files and descriptors.
        S::read => io::read(t, a),
        S::write => io::write(t, a),
        S::readv => io::readv(t, a, false),
        S::writev => io::writev(t, a, false),
        S::pread64 => io::pread(t, a),
        S::pwrite64 => io::pwrite(t, a),
        S::preadv => io::readv(t, a, true),
        S::pwritev => io::writev(t, a, true),
        S::preadv2 => io::rw2(t, a, false),
        S::pwritev2 => io::rw2(t, a, true),
        S::lseek => io::lseek(t, a),
        S::close => io::close(t, a),
        S::close_range => io::close_range(t, a),
        S::dup => io::dup(t, a),
        S::dup3 => io::dup3(t, a),
        S::fcntl => io::fcntl(t, a),
        S::ioctl => io::ioctl(t, a),
        S::pipe2 => io::pipe2(t, a),
        S::getdents64 => io::getdents64(t, a),
        S::ftruncate => io::simple(t, a, libc::SYS_ftruncate, 2),
        S::fsync => io::simple(t, a, libc::SYS_fsync, 1),
        S::fdatasync => io::simple(t, a, libc::SYS_fdatasync, 1),
        S::flock => io::simple(t, a, libc::SYS_flock, 2),
        S::fadvise64 => io::simple(t, a, libc::SYS_fadvise64, 4),
        S::fallocate => io::simple(t, a, libc::SYS_fallocate, 4),
        S::fchmod => io::simple(t, a, libc::SYS_fchmod, 2),
        S::fchown => io::simple(t, a, libc::SYS_fchown, 3),
        S::sendfile => crate::syscalls::splice::sendfile(t, a),
        S::copy_file_range => crate::syscalls::splice::copy_file_range(t, a),
        S::splice => crate::syscalls::splice::splice(t, a),
        S::tee => crate::syscalls::splice::tee(t, a),
        S::vmsplice => crate::syscalls::splice::vmsplice(t, a),
        S::readahead => crate::syscalls::splice::readahead(t, a),
        S::sync_file_range => crate::syscalls::splice::sync_file_range(t, a),
        S::memfd_create => io::memfd_create(t, a),
        S::eventfd2 => io::eventfd2(t, a),
        S::openat => fs::openat(t, a),
        S::newfstatat => fs::newfstatat(t, a),
        S::fstat => fs::fstat(t, a),
        S::statx => fs::statx(t, a),
        S::readlinkat => fs::readlinkat(t, a),
        S::faccessat => fs::faccessat(t, [a[0], a[1], a[2], 0, 0, 0]),
        S::faccessat2 => fs::faccessat(t, a),
        S::mkdirat => fs::mkdirat(t, a),
        S::mknodat => fs::mknodat(t, a),
        S::unlinkat => fs::unlinkat(t, a),
        S::renameat2 => fs::renameat2(t, a),
        S::linkat => fs::linkat(t, a),
        S::symlinkat => fs::symlinkat(t, a),
        S::fchmodat => fs::fchmodat(t, a),
        S::fchownat => fs::fchownat(t, a),
        S::utimensat => fs::utimensat(t, a),
        S::truncate => fs::truncate(t, a),
        S::statfs => fs::statfs(t, a),
        S::fstatfs => fs::fstatfs(t, a),
        S::getcwd => fs::getcwd(t, a),
        S::chdir => fs::chdir(t, a),
        S::fchdir => fs::fchdir(t, a),
        S::chroot => crate::syscalls::handles::chroot(t, a),
        S::name_to_handle_at => crate::syscalls::handles::name_to_handle_at(t, a),
        S::open_by_handle_at => crate::syscalls::handles::open_by_handle_at(t, a),
        S::inotify_init1 => crate::syscalls::inotify::inotify_init1(t, a),
        S::inotify_add_watch => crate::syscalls::inotify::inotify_add_watch(t, a),
        S::inotify_rm_watch => crate::syscalls::inotify::inotify_rm_watch(t, a),
        S::getxattr => crate::syscalls::xattr::getxattr(t, a, XPath),
        S::lgetxattr => crate::syscalls::xattr::getxattr(t, a, XLink),
        S::fgetxattr => crate::syscalls::xattr::getxattr(t, a, XFd),
        S::setxattr => crate::syscalls::xattr::setxattr(t, a, XPath),
        S::lsetxattr => crate::syscalls::xattr::setxattr(t, a, XLink),
        S::fsetxattr => crate::syscalls::xattr::setxattr(t, a, XFd),
        S::listxattr => crate::syscalls::xattr::listxattr(t, a, XPath),
        S::llistxattr => crate::syscalls::xattr::listxattr(t, a, XLink),
        S::flistxattr => crate::syscalls::xattr::listxattr(t, a, XFd),
        S::removexattr => crate::syscalls::xattr::removexattr(t, a, XPath),
        S::lremovexattr => crate::syscalls::xattr::removexattr(t, a, XLink),
        S::fremovexattr => crate::syscalls::xattr::removexattr(t, a, XFd),
        S::umask => misc::umask(t, a),
        S::sync => Ok(0),
        S::syncfs => Ok(0),
        // Memory.
        S::brk => mm::brk(t, a),
        S::mmap => mm::mmap(t, a),
        S::munmap => mm::munmap(t, a),
        S::mprotect => mm::mprotect(t, a),
        S::madvise => mm::madvise(t, a),
        S::mremap => mm::mremap(t, a),
        S::msync => mm::msync(t, a),
        S::mlock | S::munlock | S::mlockall | S::munlockall | S::mlock2 => Ok(0),
        S::membarrier => mm::membarrier(a),
        S::mincore => crate::syscalls::mincore::mincore(t, a),
        S::riscv_flush_icache => mm::flush_icache(hart),
        // Signals.
        S::rt_sigaction => signal::rt_sigaction(t, a),
        S::rt_sigprocmask => signal::rt_sigprocmask(t, a),
        S::sigaltstack => signal::sigaltstack(t, hart.state().x[2], a),
        S::kill => signal::kill(t, a),
        S::tkill => signal::tgkill(t, [t.proc_pid() as u64, a[0], a[1], 0, 0, 0]),
        S::tgkill => signal::tgkill(t, a),
        S::rt_sigpending => signal::rt_sigpending(t, a),
        S::rt_sigsuspend => signal::rt_sigsuspend(t, a),
        S::rt_sigtimedwait => signal::rt_sigtimedwait(t, a),
        S::rt_sigqueueinfo => signal::rt_sigqueueinfo(t, a),
        S::rt_tgsigqueueinfo => signal::rt_tgsigqueueinfo(t, a),
        S::signalfd4 => crate::syscalls::signalfd::signalfd4(t, a),
        S::pidfd_open => crate::syscalls::pidfd::pidfd_open(t, a),
        S::pidfd_send_signal => crate::syscalls::pidfd::pidfd_send_signal(t, a),
        S::timer_create => crate::syscalls::timer::timer_create(t, a),
        S::timer_settime => crate::syscalls::timer::timer_settime(t, a),
        S::timer_gettime => crate::syscalls::timer::timer_gettime(t, a),
        S::timer_getoverrun => crate::syscalls::timer::timer_getoverrun(t, a),
        S::timer_delete => crate::syscalls::timer::timer_delete(t, a),
        // Waiting on descriptors.
        S::ppoll => poll::ppoll(t, a),
        S::pselect6 => poll::pselect6(t, a),
        S::epoll_create1 => poll::epoll_create1(t, a),
        S::epoll_ctl => poll::epoll_ctl(t, a),
        S::epoll_pwait => poll::epoll_pwait(t, a),
        S::epoll_pwait2 => poll::epoll_pwait2(t, a),
        S::timerfd_create => poll::timerfd_create(t, a),
        S::timerfd_settime => poll::timerfd_settime(t, a),
        S::timerfd_gettime => poll::timerfd_gettime(t, a),
        // Sockets.
        S::socket => net::socket(t, a),
        S::socketpair => net::socketpair(t, a),
        S::bind => net::addr_in(t, a, libc::SYS_bind),
        S::connect => net::addr_in(t, a, libc::SYS_connect),
        S::listen => io::simple(t, a, libc::SYS_listen, 2),
        S::accept => net::accept(t, [a[0], a[1], a[2], 0, 0, 0]),
        S::accept4 => net::accept(t, a),
        S::getsockname => net::addr_out(t, a, libc::SYS_getsockname),
        S::getpeername => net::addr_out(t, a, libc::SYS_getpeername),
        S::sendto => net::sendto(t, a),
        S::recvfrom => net::recvfrom(t, a),
        S::setsockopt => net::setsockopt(t, a),
        S::getsockopt => net::getsockopt(t, a),
        S::shutdown => io::simple(t, a, libc::SYS_shutdown, 2),
        S::sendmsg => net::sendmsg(t, a),
        S::recvmsg => net::recvmsg(t, a),
        S::sendmmsg => crate::syscalls::mmsg::sendmmsg(t, a),
        S::recvmmsg => crate::syscalls::mmsg::recvmmsg(t, a),
        // Time.
        S::clock_gettime => time::clock_gettime(t, a),
        S::clock_getres => time::clock_getres(t, a),
        S::gettimeofday => time::gettimeofday(t, a),
        S::nanosleep => time::nanosleep(t, a),
        S::clock_nanosleep => time::clock_nanosleep(t, a),
        S::setitimer => time::setitimer(t, a),
        S::getitimer => time::getitimer(t, a),
        S::times => time::times(t, a),
        // Identity, limits, system information.
        S::getpid => Ok(t.proc_pid() as u64),
        S::getppid => Ok(unsafe_call0(libc::SYS_getppid)),
        S::getuid => Ok(unsafe_call0(libc::SYS_getuid)),
        S::geteuid => Ok(unsafe_call0(libc::SYS_geteuid)),
        S::getgid => Ok(unsafe_call0(libc::SYS_getgid)),
        S::getegid => Ok(unsafe_call0(libc::SYS_getegid)),
        S::getpgid => io::simple(t, a, libc::SYS_getpgid, 1),
        S::setpgid => io::simple(t, a, libc::SYS_setpgid, 2),
        S::getsid => io::simple(t, a, libc::SYS_getsid, 1),
        S::setsid => io::simple(t, a, libc::SYS_setsid, 0),
        S::getresuid | S::getresgid => misc::getres(t, a, sys == S::getresuid),
        S::getgroups => misc::getgroups(t, a),
        S::setuid
        | S::setgid
        | S::setreuid
        | S::setregid
        | S::setresuid
        | S::setresgid
        | S::setgroups
        | S::setfsuid
        | S::setfsgid => misc::set_ids(a, sys),
        S::uname => misc::uname(t, a),
        S::sethostname | S::setdomainname => Err(Errno::EPERM),
        S::prlimit64 => misc::prlimit64(t, a),
        S::getrlimit => misc::prlimit64(t, [0, a[0], 0, a[1], 0, 0]),
        S::setrlimit => misc::prlimit64(t, [0, a[0], a[1], 0, 0, 0]),
        S::getrusage => misc::getrusage(t, a),
        S::sysinfo => misc::sysinfo(t, a),
        S::getrandom => misc::getrandom(t, a),
        S::sched_getaffinity => misc::sched_getaffinity(t, a),
        S::sched_setaffinity => Ok(0),
        S::sched_yield => {
            std::thread::yield_now();
            Ok(0)
        }
        S::sched_getscheduler => sched::getscheduler(t, a),
        S::sched_getparam => sched::getparam(t, a),
        S::sched_setscheduler => sched::setscheduler(t, a[0], Some(a[1]), a[2]),
        S::sched_setparam => sched::setscheduler(t, a[0], None, a[1]),
        S::sched_get_priority_max => sched::priority_limit(a, true),
        S::sched_get_priority_min => sched::priority_limit(a, false),
        S::getcpu => misc::getcpu(t, a),
        S::getpriority => misc::priority(t, a, false),
        S::setpriority => misc::priority(t, a, true),
        S::personality => Ok(0),
        S::prctl => misc::prctl(t, a),
        S::riscv_hwprobe => misc::riscv_hwprobe(t, a),
        S::capget => misc::capget(t, a),
        S::capset => crate::syscalls::sched_attr::capset(t, a),
        S::ioprio_get => crate::syscalls::sched_attr::ioprio_get(t, a),
        S::ioprio_set => crate::syscalls::sched_attr::ioprio_set(t, a),
        S::sched_getattr => crate::syscalls::sched_attr::sched_getattr(t, a),
        S::sched_setattr => crate::syscalls::sched_attr::sched_setattr(t, a),
        S::kcmp => crate::syscalls::kcmp::kcmp(t, a),
        S::mq_open => crate::syscalls::mqueue::mq_open(t, a),
        S::mq_unlink => crate::syscalls::mqueue::mq_unlink(t, a),
        S::mq_timedsend => crate::syscalls::mqueue::mq_timedsend(t, a),
        S::mq_timedreceive => crate::syscalls::mqueue::mq_timedreceive(t, a),
        S::mq_notify => crate::syscalls::mqueue::mq_notify(t, a),
        S::mq_getsetattr => crate::syscalls::mqueue::mq_getsetattr(t, a),
        S::rseq => Err(Errno::ENOSYS),
        // SysV IPC (the VM's arena, crate::ipc).
        S::semget => crate::syscalls::sysv_sem::semget(t, a),
        S::semctl => crate::syscalls::sysv_sem::semctl(t, a),
        S::semop => crate::syscalls::sysv_sem::semop(t, a),
        S::semtimedop => crate::syscalls::sysv_sem::semtimedop(t, a),
        S::msgget => crate::syscalls::sysv_msg::msgget(t, a),
        S::msgsnd => crate::syscalls::sysv_msg::msgsnd(t, a),
        S::msgrcv => crate::syscalls::sysv_msg::msgrcv(t, a),
        S::msgctl => crate::syscalls::sysv_msg::msgctl(t, a),
        S::shmget => crate::syscalls::sysv_shm::shmget(t, a),
        S::shmat => crate::syscalls::sysv_shm::shmat(t, a),
        S::shmdt => crate::syscalls::sysv_shm::shmdt(t, a),
        S::shmctl => crate::syscalls::sysv_shm::shmctl(t, a),
        _ => {
            t.proc.strace.unknown(t.tid, nr);
            Err(Errno::ENOSYS)
        }
    };
    Flow::Ret(r)
}

/// A host call without arguments that cannot fail (the id getters).
fn unsafe_call0(nr: i64) -> u64 {
    // SAFETY: these calls take no arguments and touch no memory.
    unsafe { libc::syscall(nr) as u64 }
}
