/* Tries to reach beyond the process VM through signals, memory, descriptors and
 * futexes; prints what each attempt saw. `crates/tern/tests/escape_process.rs` runs
 * one mode at a time and checks the outcome on the host side as well.
 *
 *   escape_process futex
 *   escape_process signals SENTINEL_PID GROUPMATE_PID
 *   escape_process mmap FILE [FILE...]
 *   escape_process scratch THREADS
 *   escape_process threads MAX
 *   escape_process areas MAX
 *   escape_process sigqueue MAX
 *   escape_process fds
 *   escape_process fdlimit
 *   escape_process hold            (receives a TCP socket, then waits for a snapshot)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *err(long r)
{
	return r < 0 ? strerrorname_np(errno) : "ok";
}

/* ---- futex: operations that store to the futex word need write access ---- */

static long futex(void *uaddr, int op, uint32_t val, uintptr_t val2, void *uaddr2,
		  uint32_t val3)
{
	return syscall(SYS_futex, uaddr, op, val, val2, uaddr2, val3);
}

static int futex_mode(void)
{
	long page = sysconf(_SC_PAGESIZE);
	uint32_t *rw = mmap(NULL, page, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint32_t *ro = mmap(NULL, page, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rw == MAP_FAILED || ro == MAP_FAILED)
		return 1;
	ro[0] = 0x11111111;
	ro[1] = 0; /* a free PI lock */
	ro[2] = (uint32_t)gettid(); /* a PI lock this thread owns */
	if (mprotect(ro, page, PROT_READ) != 0)
		return 1;
	/* FUTEX_OP_SET 0x55 into *uaddr2, compare with 0. */
	uint32_t setop = FUTEX_OP(FUTEX_OP_SET, 0x55, FUTEX_OP_CMP_EQ, 0);
	long r = futex(rw, FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG, 1, 1, &ro[0], setop);
	printf("wake_op on read-only: %s\n", err(r));
	r = futex(&ro[1], FUTEX_TRYLOCK_PI | FUTEX_PRIVATE_FLAG, 0, 0, NULL, 0);
	printf("trylock_pi on read-only: %s\n", err(r));
	struct timespec ts = {0, 1000000};
	r = futex(&ro[1], FUTEX_LOCK_PI | FUTEX_PRIVATE_FLAG, 0, (uintptr_t)&ts, NULL, 0);
	printf("lock_pi on read-only: %s\n", err(r));
	r = futex(&ro[2], FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG, 0, 0, NULL, 0);
	printf("unlock_pi on read-only: %s\n", err(r));
	printf("read-only words: %08x %08x %s\n", ro[0], ro[1],
	       ro[2] == (uint32_t)gettid() ? "owner" : "changed");
	/* The same operations on writable memory work (positive control). */
	rw[1] = 0x11111111;
	r = futex(rw, FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG, 1, 1, &rw[1], setop);
	printf("wake_op on writable: %s, word %08x\n", err(r), rw[1]);
	rw[2] = 0;
	r = futex(&rw[2], FUTEX_TRYLOCK_PI | FUTEX_PRIVATE_FLAG, 0, 0, NULL, 0);
	printf("trylock_pi on writable: %s, owner %s\n", err(r),
	       rw[2] == (uint32_t)gettid() ? "me" : "other");
	r = futex(&rw[2], FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG, 0, 0, NULL, 0);
	printf("unlock_pi on writable: %s, word %08x\n", err(r), rw[2]);
	return 0;
}

/* ---- signals: only the VM's own process tree ---- */

static volatile sig_atomic_t usr1, usr2;

static void on_usr1(int n)
{
	(void)n;
	usr1++;
}

static void on_usr2(int n)
{
	(void)n;
	usr2++;
}

static const char *ret(long r)
{
	return r == 0 ? "ok" : r < 0 ? strerrorname_np(errno) : "?";
}

/* A child that says "ready" on `ready_fd` and exits 7 at SIGUSR1. */
static pid_t waiting_child(int new_group)
{
	int p[2];
	if (pipe(p) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		signal(SIGUSR1, on_usr1);
		if (new_group)
			setpgid(0, 0);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		while (!usr1)
			sigsuspend(&none);
		_exit(7);
	}
	char c;
	if (read(p[0], &c, 1) != 1)
		return -1;
	close(p[0]);
	close(p[1]);
	return pid;
}

static int child_status(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* `sentinel` is a host process in a group of its own; `groupmate` one in the group
 * tern was started in. */
static int signals_mode(pid_t sentinel, pid_t groupmate)
{
	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, on_usr2);
	/* Host processes: the sentinel, its group, the groupmate, the test harness
	 * (tern's parent: signal 0 only, it must not die if this fails). */
	printf("kill sentinel: %s\n", ret(kill(sentinel, SIGUSR1)));
	printf("kill sentinel's group: %s\n", ret(kill(-sentinel, SIGUSR1)));
	printf("tgkill sentinel: %s\n", ret(syscall(SYS_tgkill, sentinel, sentinel, SIGUSR1)));
	printf("kill groupmate: %s\n", ret(kill(groupmate, SIGUSR1)));
	printf("kill parent (0): %s\n", ret(kill(getppid(), 0)));
	printf("kill -1 (0) alone: %s\n", ret(kill(-1, 0)));
	printf("kill own group: %s, to itself %d\n", ret(kill(0, SIGUSR1)), (int)usr1);
	printf("kill own group by number: %s, to itself %d\n", ret(kill(-getpgrp(), SIGUSR1)),
	       (int)usr1);
	printf("setpriority sentinel: %s\n", ret(setpriority(PRIO_PROCESS, sentinel, 19)));
	int p[2];
	if (pipe(p) != 0)
		return 1;
	printf("F_SETOWN sentinel: %s\n", ret(fcntl(p[0], F_SETOWN, sentinel)));
	printf("F_SETOWN sentinel's group: %s\n", ret(fcntl(p[0], F_SETOWN, -sentinel)));
	struct f_owner_ex ex = {F_OWNER_PID, sentinel};
	printf("F_SETOWN_EX sentinel: %s\n", ret(fcntl(p[0], F_SETOWN_EX, &ex)));
	pid_t gone = fork();
	if (gone == 0)
		_exit(0);
	child_status(gone);
	printf("kill a reaped child: %s\n", ret(kill(gone, 0)));

	/* The VM's own processes: children, their groups, a program they execve. */
	pid_t c = waiting_child(0);
	printf("kill -1 (0) with a child: %s\n", ret(kill(-1, 0)));
	printf("setpriority child: %s\n", ret(setpriority(PRIO_PROCESS, c, 5)));
	printf("F_SETOWN child: %s\n", ret(fcntl(p[0], F_SETOWN, c)));
	ex.pid = c;
	printf("F_SETOWN_EX child: %s\n", ret(fcntl(p[0], F_SETOWN_EX, &ex)));
	printf("kill child: %s, ", ret(kill(c, SIGUSR1)));
	printf("it exited %d\n", child_status(c));
	c = waiting_child(1);
	printf("kill child's group: %s, ", ret(kill(-c, SIGUSR1)));
	printf("it exited %d\n", child_status(c));
	c = waiting_child(0);
	printf("tgkill child: %s, ", ret(syscall(SYS_tgkill, c, c, SIGUSR1)));
	printf("it exited %d\n", child_status(c));
	c = fork();
	if (c == 0) {
		execl("/proc/self/exe", "escape_process", "signal-parent", (char *)NULL);
		_exit(126);
	}
	int st = child_status(c);
	printf("a child after execve signalled its parent: exit %d, got %d\n", st, (int)usr2);
	return 0;
}

/* Run by a child after execve: signals its parent (in the VM) and tries its
 * grandparent (outside). */
static int signal_parent_mode(void)
{
	pid_t parent = getppid();
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", parent);
	if (kill(parent, SIGUSR2) != 0)
		return 1;
	/* The test harness is the parent's parent: outside the VM. */
	FILE *f = fopen(path, "r");
	int grand = 0;
	if (f) {
		if (fscanf(f, "%*d (%*[^)]) %*c %d", &grand) != 1)
			grand = 0;
		fclose(f);
	}
	if (grand > 1 && kill(grand, 0) == 0)
		return 2;
	return 0;
}

/* ---- memory: file mappings, scratch buffers, threads within the budget ---- */

/* Maps each file read-only and prints what its first, middle and last four bytes
 * hold (sparse files here have "tern" at those places and holes elsewhere), or the
 * errno of the mmap. */
static int mmap_mode(int n, char **files)
{
	for (int i = 0; i < n; i++) {
		const char *name = strrchr(files[i], '/') ? strrchr(files[i], '/') + 1 : files[i];
		int fd = open(files[i], O_RDONLY);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) != 0) {
			printf("%s: cannot open: %s\n", name, strerrorname_np(errno));
			continue;
		}
		size_t len = st.st_size;
		unsigned char *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
		close(fd);
		if (p == MAP_FAILED) {
			printf("%s: mmap %s\n", name, strerrorname_np(errno));
			continue;
		}
		size_t at[3] = {0, len / 2, len - 4};
		printf("%s: mapped", name);
		for (int k = 0; k < 3; k++)
			printf(" %.4s", (char *)p + at[k]);
		unsigned sum = 0;
		for (size_t off = 4096; off < len && off < (16 << 20); off += 4096)
			sum += p[off];
		printf(" sum %u\n", sum);
		munmap(p, len);
	}
	return 0;
}

static int pipe_fds[2];

/* Each thread reads 4 bytes from a pipe into a 64 MiB buffer it never touched: the
 * transfer is small, the buffer large. */
static void *big_reader(void *arg)
{
	char *buf = arg;
	long r = read(pipe_fds[0], buf, 64 << 20);
	return (void *)r;
}

static int scratch_mode(int threads)
{
	/* A packet-mode pipe: each read takes one write's 4 bytes. */
	if (pipe2(pipe_fds, O_DIRECT) != 0)
		return 1;
	pthread_t th[64];
	char *bufs[64];
	if (threads > 64)
		threads = 64;
	for (int i = 0; i < threads; i++) {
		bufs[i] = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (bufs[i] == MAP_FAILED || pthread_create(&th[i], NULL, big_reader, bufs[i]))
			return 1;
	}
	long total = 0;
	for (int i = 0; i < threads; i++)
		if (write(pipe_fds[1], "data", 4) != 4)
			return 1;
	for (int i = 0; i < threads; i++) {
		void *r;
		pthread_join(th[i], &r);
		total += (long)r;
	}
	/* A large write from an untouched buffer to /dev/null moves no data worth
	 * keeping either. */
	int null = open("/dev/null", O_WRONLY);
	long w = write(null, bufs[0], 16 << 20);
	printf("scratch: %d threads read %ld bytes, wrote %ld to /dev/null\n", threads,
	       total, w);
	return 0;
}

/* Cuts a PROT_NONE reservation (which costs no memory) into ever more areas by
 * making every other page readable, until mprotect refuses or `max` calls. */
static int areas_mode(long max)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t len = (size_t)max * 2 * page + page;
	char *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	long n = 0;
	int e = 0;
	for (; n < max; n++)
		if (mprotect(p + (2 * n + 1) * page, page, PROT_READ) != 0) {
			e = errno;
			break;
		}
	printf("areas: %s\n", e ? strerrorname_np(e) : "no limit");
	fprintf(stderr, "mprotect calls before the limit: %ld\n", n);
	return munmap(p, len) != 0;
}

/* Queues realtime signals to itself while they are blocked: sigqueue must stop
 * with EAGAIN (Linux's RLIMIT_SIGPENDING), kill goes on working. */
static int sigqueue_mode(long max)
{
	sigset_t rt;
	sigemptyset(&rt);
	sigaddset(&rt, SIGRTMIN + 1);
	sigaddset(&rt, SIGRTMIN + 2);
	sigprocmask(SIG_BLOCK, &rt, NULL);
	long n = 0;
	int e = 0;
	for (; n < max; n++) {
		union sigval v = {.sival_int = (int)n};
		if (sigqueue(getpid(), SIGRTMIN + 1, v) != 0) {
			e = errno;
			break;
		}
	}
	printf("sigqueue: %s\n", e ? strerrorname_np(e) : "no limit");
	fprintf(stderr, "signals queued: %ld\n", n);
	long k = 0;
	while (k < 1000 && kill(getpid(), SIGRTMIN + 2) == 0)
		k++;
	printf("kill with the queue full: %s\n", k == 1000 ? "ok" : strerrorname_np(errno));
	siginfo_t si;
	struct timespec zero = {0, 0};
	printf("first queued: %d\n",
	       sigtimedwait(&rt, &si, &zero) == SIGRTMIN + 1 ? si.si_value.sival_int : -1);
	return 0;
}

static int release_fds[2];

static void *parked(void *arg)
{
	(void)arg;
	char c;
	ssize_t r = read(release_fds[0], &c, 1);
	(void)r;
	return NULL;
}

/* Starts threads (small stacks) until pthread_create fails or `max` run. */
static int threads_mode(int max)
{
	if (pipe(release_fds) != 0)
		return 1;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 << 10);
	pthread_t *th = calloc(max, sizeof *th);
	int n = 0, e = 0;
	while (n < max) {
		e = pthread_create(&th[n], &attr, parked, NULL);
		if (e)
			break;
		n++;
	}
	printf("threads: %s after %s\n", e ? strerrorname_np(e) : "no error",
	       n >= max ? "all" : "some");
	fprintf(stderr, "threads started: %d\n", n);
	close(release_fds[1]);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	/* The limit is on threads alive at once: new ones start again. */
	pthread_t again;
	printf("after join: %s\n",
	       pthread_create(&again, &attr, parked, NULL) ? "refused" : "started");
	pthread_join(again, NULL);
	return 0;
}

/* ---- descriptors: SCM_RIGHTS passes only the program's own ---- */

/* Sends one message on `sock` carrying descriptors `fds` (none if n == 0). */
static long send_fds(int sock, const int *fds, int n)
{
	char data = 'x';
	struct iovec iov = {&data, 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 16)];
	} u;
	memset(&u, 0, sizeof u);
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	if (n > 0) {
		m.msg_control = u.buf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	return sendmsg(sock, &m, 0);
}

/* Receives one message; returns the first descriptor it carried, or -1, and the
 * message flags in *flags. */
static int recv_fd(int sock, int flags_in, int *flags)
{
	char data;
	struct iovec iov = {&data, 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 16)];
	} u;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			   .msg_controllen = sizeof u.buf};
	if (recvmsg(sock, &m, flags_in) < 0) {
		*flags = -errno;
		return -1;
	}
	*flags = m.msg_flags;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len > CMSG_LEN(0)) {
			int fd;
			memcpy(&fd, CMSG_DATA(c), sizeof fd);
			return fd;
		}
	return -1;
}

/* Sends raw control bytes on sv[0] (for the credentials and malformed-header
 * checks); a message that went is received from sv[1] again. Returns "sent" or
 * the errno's name. */
static const char *try_control(int sv[2], void *control, size_t len)
{
	char data = 'x';
	struct iovec iov = {&data, 1};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			   .msg_controllen = len};
	if (sendmsg(sv[0], &m, 0) != 1)
		return strerrorname_np(errno);
	int flags;
	int fd = recv_fd(sv[1], 0, &flags);
	if (fd >= 0)
		close(fd);
	return "sent";
}

static int fds_mode(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0)
		return 1;
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	int limit = (int)rl.rlim_cur;
	/* Numbers at and above the limit are not the program's: tern keeps its own
	 * descriptors there. */
	int sent = 0, ebadf = 0;
	for (int fd = limit; fd < limit + 64; fd++) {
		if (send_fds(sv[0], &fd, 1) == 1) {
			sent++;
			int flags;
			int got = recv_fd(sv[1], 0, &flags);
			if (got >= 0)
				close(got);
		} else if (errno == EBADF) {
			ebadf++;
		}
	}
	printf("numbers above the limit: %d sent, %d EBADF\n", sent, ebadf);
	int never = limit - 1;
	printf("a number never opened: %s\n",
	       send_fds(sv[0], &never, 1) == 1 ? "sent" : strerrorname_np(errno));
	/* One good descriptor among bad ones: nothing is sent. */
	int p[2];
	if (pipe(p) != 0)
		return 1;
	int mixed[2] = {p[0], limit + 1};
	int flags;
	if (send_fds(sv[0], mixed, 2) == 1) {
		printf("good and bad together: sent\n");
		recv_fd(sv[1], 0, &flags);
	} else {
		printf("good and bad together: %s\n", strerrorname_np(errno));
	}
	/* A descriptor of the program's own travels and works. */
	if (send_fds(sv[0], &p[0], 1) != 1)
		return 1;
	int got = recv_fd(sv[1], MSG_CMSG_CLOEXEC, &flags);
	if (write(p[1], "hello", 5) != 5)
		return 1;
	char buf[8] = {0};
	long n = got >= 0 ? read(got, buf, sizeof buf - 1) : -1;
	printf("received pipe: %s \"%s\", cloexec %d\n", n == 5 ? "reads" : "broken",
	       buf, got >= 0 ? !!(fcntl(got, F_GETFD) & FD_CLOEXEC) : -1);
	/* Credentials: only the sender's own pid and ids. */
	struct ucred cr = {getppid(), getuid(), getgid()};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} cu;
	memset(&cu, 0, sizeof cu);
	cu.h.cmsg_level = SOL_SOCKET;
	cu.h.cmsg_type = SCM_CREDENTIALS;
	cu.h.cmsg_len = CMSG_LEN(sizeof cr);
	memcpy(CMSG_DATA(&cu.h), &cr, sizeof cr);
	printf("credentials of the parent: %s\n", try_control(sv, cu.buf, sizeof cu.buf));
	cr.pid = getpid();
	memcpy(CMSG_DATA(&cu.h), &cr, sizeof cr);
	printf("own credentials: %s\n", try_control(sv, cu.buf, sizeof cu.buf));
	/* Headers that claim more than the buffer holds, or less than a header. */
	struct cmsghdr *h = &cu.h;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = (size_t)-1;
	printf("huge cmsg_len: %s\n", try_control(sv, cu.buf, sizeof cu.buf));
	h->cmsg_len = sizeof cu.buf + 4;
	printf("cmsg_len past the buffer: %s\n", try_control(sv, cu.buf, sizeof cu.buf));
	h->cmsg_len = 8;
	printf("cmsg_len under a header: %s\n", try_control(sv, cu.buf, sizeof cu.buf));
	/* At the descriptor limit a received descriptor cannot be installed: the
	 * message says MSG_CTRUNC and carries none. */
	int fill = 0;
	while (dup(0) >= 0)
		fill++;
	if (send_fds(sv[0], &p[1], 1) != 1)
		return 1;
	got = recv_fd(sv[1], 0, &flags);
	printf("at the limit: %s, %s\n", flags > 0 && (flags & MSG_CTRUNC) ? "MSG_CTRUNC" : "complete",
	       got < 0 ? "no descriptor" : got >= limit ? "one above the limit" : "one below the limit");
	return 0;
}

/* Receives a TCP socket (which snapshots refuse) through a socket, closes
 * everything else it made, and waits (for a snapshot) with only the received
 * descriptor open. */
static int hold_mode(void)
{
	int tcp, sv[2], flags;
	tcp = socket(AF_INET, SOCK_STREAM, 0);
	if (tcp < 0 || socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0)
		return 1;
	if (send_fds(sv[0], &tcp, 1) != 1)
		return 1;
	int got = recv_fd(sv[1], 0, &flags);
	close(tcp);
	close(sv[0]);
	close(sv[1]);
	printf("holding %d\n", got);
	for (;;)
		pause();
}

/* Shared regions: shared anonymous memory is bounded by the shared window (as large
 * as --memory), and a shared file truncated under pages the program touched does not
 * bring the emulator down. */
static int shared_mode(const char *file)
{
	size_t big = 40 << 20;
	char *a = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED) {
		printf("first: mmap %s\n", strerrorname_np(errno));
		return 1;
	}
	memset(a, 's', big);
	char *b = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	printf("first: touched, second: %s\n", b == MAP_FAILED ? strerrorname_np(errno) : "mapped");
	munmap(a, big);
	b = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	printf("after munmap: %s\n", b == MAP_FAILED ? strerrorname_np(errno) : "mapped");
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ftruncate(fd, 2 * 4096);
	volatile char *m = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	m[0] = 'x';
	m[4096] = 'y';
	ftruncate(fd, 0);
	/* Linux: SIGBUS (default action: the program dies); tern may instead give a
	 * zero page. Either way the emulator must survive and say so. */
	signal(SIGBUS, SIG_IGN);
	char c = m[4096];
	printf("after truncation: read %s\n", c == 'y' ? "stale data" : "no data");
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: escape_process MODE [ARGS]\n");
		return 2;
	}
	const char *mode = argv[1];
	if (!strcmp(mode, "futex"))
		return futex_mode();
	if (!strcmp(mode, "mmap"))
		return mmap_mode(argc - 2, argv + 2);
	if (!strcmp(mode, "scratch") && argc > 2)
		return scratch_mode(atoi(argv[2]));
	if (!strcmp(mode, "threads") && argc > 2)
		return threads_mode(atoi(argv[2]));
	if (!strcmp(mode, "areas") && argc > 2)
		return areas_mode(atol(argv[2]));
	if (!strcmp(mode, "sigqueue") && argc > 2)
		return sigqueue_mode(atol(argv[2]));
	if (!strcmp(mode, "signals") && argc > 3)
		return signals_mode(atoi(argv[2]), atoi(argv[3]));
	if (!strcmp(mode, "signal-parent"))
		return signal_parent_mode();
	if (!strcmp(mode, "fds"))
		return fds_mode();
	if (!strcmp(mode, "hold"))
		return hold_mode();
	if (!strcmp(mode, "shared") && argc > 2)
		return shared_mode(argv[2]);
	fprintf(stderr, "unknown mode %s\n", mode);
	return 2;
}
