/* Random system calls with hostile arguments, for the process VM's robustness test:
 * whatever a program passes, the emulator must answer with an error code (or kill the
 * program with a signal), never crash or panic itself.
 *
 * Usage: syscall_fuzz SEED ROUNDS CALLS
 * Each round forks a child that closes its standard descriptors and makes CALLS
 * random calls; calls that could reach outside the test (networking to other
 * addresses, signals to other processes, new programs) are left out, and the test
 * runs under `tern exec --root` so paths stay in a scratch directory. Prints how the
 * children ended. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t state;
static uint64_t next(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

static const long calls[] = {
	SYS_openat, SYS_close, SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_pread64,
	SYS_pwrite64, SYS_lseek, SYS_fstat, SYS_newfstatat, SYS_statx, SYS_getdents64,
	SYS_readlinkat, SYS_faccessat, SYS_mkdirat, SYS_unlinkat, SYS_renameat2,
	SYS_symlinkat, SYS_linkat, SYS_fchmodat, SYS_utimensat, SYS_truncate,
	SYS_ftruncate, SYS_getcwd, SYS_chdir, SYS_fchdir, SYS_dup, SYS_dup3, SYS_fcntl,
	SYS_ioctl, SYS_pipe2, SYS_statfs, SYS_fstatfs, SYS_brk, SYS_mmap, SYS_munmap,
	SYS_mprotect, SYS_madvise, SYS_mremap, SYS_msync, SYS_rt_sigaction,
	SYS_rt_sigprocmask, SYS_sigaltstack, SYS_rt_sigpending,
	SYS_futex, SYS_set_tid_address, SYS_set_robust_list, SYS_get_robust_list,
	SYS_ppoll, SYS_pselect6, SYS_epoll_create1, SYS_epoll_ctl, SYS_epoll_pwait,
	SYS_eventfd2, SYS_socket, SYS_socketpair, SYS_getsockname, SYS_getpeername,
	SYS_setsockopt, SYS_getsockopt, SYS_recvfrom, SYS_recvmsg, SYS_shutdown,
	SYS_clock_gettime, SYS_clock_getres, SYS_gettimeofday, SYS_uname, SYS_prlimit64,
	SYS_getrusage, SYS_sysinfo, SYS_getrandom, SYS_sched_getaffinity, SYS_getcpu,
	SYS_prctl, SYS_umask, SYS_times, SYS_getgroups, SYS_getresuid, SYS_capget,
	SYS_memfd_create, SYS_sendfile, SYS_close_range, SYS_timerfd_create,
	SYS_timerfd_settime, SYS_timerfd_gettime, SYS_wait4, SYS_waitid, SYS_membarrier,
	259 /* riscv_flush_icache */, 258 /* riscv_hwprobe */, 999, 5000, -1,
	/* issue 16 (no message queues: they would outlive the test on the host) */
	SYS_signalfd4, SYS_timer_create, SYS_timer_settime, SYS_timer_gettime,
	SYS_timer_getoverrun, SYS_timer_delete, SYS_pidfd_open, SYS_inotify_init1,
	SYS_inotify_add_watch, SYS_inotify_rm_watch, SYS_getxattr, SYS_lgetxattr,
	SYS_fgetxattr, SYS_setxattr, SYS_listxattr, SYS_llistxattr, SYS_removexattr,
	SYS_splice, SYS_tee, SYS_vmsplice, SYS_copy_file_range, SYS_readahead,
	SYS_sync_file_range, SYS_sendmmsg, SYS_recvmmsg, SYS_capset, SYS_ioprio_get,
	SYS_ioprio_set, SYS_kcmp, SYS_sched_getattr, SYS_sched_setattr, SYS_mincore,
	SYS_chroot, SYS_name_to_handle_at,
};

static char buf[8192];
static const struct timespec zero;

static long arg(void)
{
	static const char *paths[] = {"/", "/x", "/x/y", "a", "..", "/../..", "/proc/self/exe",
				      "/proc/self/maps", "", "l", "/l/../x"};
	switch (next() % 12) {
	case 0: return 0;
	case 1: return -1;
	case 2: return (long)(next() % 64);
	case 3: return (long)buf + (long)(next() % 4096);
	case 4: return (long)paths[next() % (sizeof paths / sizeof paths[0])];
	case 5: return (long)next();
	case 6: return (long)0xffffffffff000000UL;   /* kernel half */
	case 7: return (long)0x100000000000UL;        /* unmapped user address */
	case 8: return (long)(next() % 0x100000);
	case 9: return 4096L << (next() % 20);
	case 10: return (long)(1UL << 63);
	default: return (long)8;
	}
}

int main(int argc, char **argv)
{
	uint64_t seed = argc > 1 ? strtoull(argv[1], 0, 0) : 1;
	int rounds = argc > 2 ? atoi(argv[2]) : 20;
	int per = argc > 3 ? atoi(argv[3]) : 2000;
	int exited = 0, signalled = 0, codes[256] = {0}, sigs[65] = {0};
	for (int r = 0; r < rounds; r++) {
		pid_t pid = fork();
		if (pid == 0) {
			state = seed * 0x9e3779b97f4a7c15ULL + (uint64_t)r + 1;
			close(0);
			close(1);
			close(2);
			/* Memory calls get addresses inside this scratch area, so that they
			 * do not unmap the program itself (the emulator would survive that,
			 * but the round would end at once). */
			char *scratch = mmap(NULL, 64 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			for (int i = 0; i < per; i++) {
				long nr = calls[next() % (sizeof calls / sizeof calls[0])];
				long a[6];
				for (int k = 0; k < 6; k++)
					a[k] = arg();
				if (nr == SYS_wait4 || nr == SYS_waitid)
					a[2] |= 1; /* WNOHANG */
				if (nr == SYS_futex)
					a[1] &= ~0x7fL, a[1] |= 1; /* wakes only: never sleep forever */
				/* no waiting: zero timeouts, and I/O only on descriptors nothing
				 * else uses (a pipe or socket there could block forever) */
				if (nr == SYS_ppoll)
					a[2] = (long)&zero;
				if (nr == SYS_pselect6)
					a[4] = (long)&zero;
				if (nr == SYS_epoll_pwait)
					a[3] = 0;
				if (nr == SYS_read || nr == SYS_recvfrom || nr == SYS_recvmsg || nr == SYS_readv ||
				    nr == SYS_write || nr == SYS_writev || nr == SYS_pread64 || nr == SYS_pwrite64)
					a[0] = 100 + (a[0] & 7);
				if (nr == SYS_mmap || nr == SYS_munmap || nr == SYS_mprotect || nr == SYS_madvise ||
				    nr == SYS_mremap || nr == SYS_msync)
					a[0] = (long)scratch + (long)(next() % (64 << 20)) - (next() % 2 ? 0 : (a[0] & 0xfff));
				if (nr == SYS_mremap)
					a[4] = (long)scratch + (long)(next() % (64 << 20));
				if (nr == SYS_mmap || nr == SYS_mremap || nr == SYS_munmap || nr == SYS_mprotect)
					a[1] &= (32 << 20) - 1;
				if (nr == SYS_mremap)
					a[2] &= (32 << 20) - 1;
				if (nr == SYS_sendfile)
					a[0] = 100 + (a[0] & 7), a[1] = 100 + (a[1] & 7);
				if (nr == SYS_splice || nr == SYS_copy_file_range)
					a[0] = 100 + (a[0] & 7), a[2] = 100 + (a[2] & 7);
				if (nr == SYS_tee || nr == SYS_vmsplice || nr == SYS_sendmmsg || nr == SYS_recvmmsg)
					a[0] = 100 + (a[0] & 7), a[1] = nr == SYS_tee ? 100 + (a[1] & 7) : a[1];
				syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
			}
			_exit(0);
		}
		int st;
		waitpid(pid, &st, 0);
		if (WIFEXITED(st))
			exited++, codes[WEXITSTATUS(st)]++;
		else if (WIFSIGNALED(st))
			signalled++, sigs[WTERMSIG(st) & 63]++;
	}
	printf("rounds %d: exited %d, killed by a signal %d\n", rounds, exited, signalled);
	for (int i = 0; i < 256; i++)
		if (codes[i])
			printf("  exit status %d: %d\n", i, codes[i]);
	for (int i = 0; i < 65; i++)
		if (sigs[i])
			printf("  signal %d: %d\n", i, sigs[i]);
	return 0;
}
