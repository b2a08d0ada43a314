/* kcmp, mincore, ioprio_get/ioprio_set, sched_getattr/sched_setattr, capset,
 * chroot and name_to_handle_at: the answers that do not depend on privilege
 * (the tests may run as root; tern's guest is always unprivileged, so the
 * privileged cases are unit tests). Compared with the native x86-64 build:
 * qemu-riscv64 7.2 has no kcmp. Output is deterministic. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void res(const char *what, long r)
{
	if (r < 0)
		printf("%s: -1 %s\n", what, strerrorname_np(errno));
	else
		printf("%s: %ld\n", what, r);
}

static long kcmp(pid_t a, pid_t b, int type, unsigned long x, unsigned long y)
{
	return syscall(SYS_kcmp, a, b, type, x, y);
}

static void kcmps(void)
{
	pid_t me = getpid();
	int f = open("/dev/null", O_RDONLY);
	int d = dup(f);
	int g = open("/dev/null", O_RDONLY);
	res("kcmp same fd", kcmp(me, me, KCMP_FILE, f, f));
	res("kcmp dup", kcmp(me, me, KCMP_FILE, f, d));
	long r = kcmp(me, me, KCMP_FILE, f, g);
	printf("kcmp other open: %s\n", r == 1 || r == 2 ? "differs" : "same?");
	long r2 = kcmp(me, me, KCMP_FILE, g, f);
	printf("kcmp reversed: %s\n", r2 == 3 - r ? "opposite" : "not opposite");
	res("kcmp vm self", kcmp(me, me, KCMP_VM, 0, 0));
	res("kcmp files with own tid", kcmp(me, gettid(), KCMP_FILES, 0, 0));
	res("kcmp bad type", kcmp(me, me, 99, 0, 0));
	res("kcmp bad fd", kcmp(me, me, KCMP_FILE, f, 999));
	res("kcmp no such pid", kcmp(me, 0x3fffff00, KCMP_VM, 0, 0));
	pid_t c = fork();
	if (c == 0) {
		pause();
		_exit(0);
	}
	r = kcmp(me, c, KCMP_VM, 0, 0);
	printf("kcmp vm with child: %s\n", r == 1 || r == 2 ? "differs" : "same?");
	r = kcmp(me, c, KCMP_SIGHAND, 0, 0);
	printf("kcmp sighand with child: %s\n", r == 1 || r == 2 ? "differs" : "same?");
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	close(f);
	close(d);
	close(g);
}

static void mincores(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char v[4];
	m[0] = 1;
	m[2 * pg] = 1;
	res("mincore", mincore(m, 4 * pg, v));
	printf("resident: %d %d %d %d\n", v[0] & 1, v[1] & 1, v[2] & 1, v[3] & 1);
	res("mincore partial page length", mincore(m, pg + 1, v));
	res("mincore unaligned", mincore(m + 1, pg, v));
	res("mincore bad vec", mincore(m, pg, (void *)8));
	munmap(m + pg, pg);
	res("mincore over a hole", mincore(m, 4 * pg, v));
	res("mincore length 0", mincore(m, 0, v));
	munmap(m, 4 * pg);
}

static void ioprios(void)
{
	long p = syscall(SYS_ioprio_get, 1, 0);
	printf("ioprio default: class %ld data %ld\n", p >> 13, p & 0xff);
	res("ioprio_set idle", syscall(SYS_ioprio_set, 1, 0, 3 << 13));
	p = syscall(SYS_ioprio_get, 1, getpid());
	printf("ioprio now: class %ld data %ld\n", p >> 13, p & 0xff);
	res("ioprio_set be 7", syscall(SYS_ioprio_set, 1, 0, (2 << 13) | 7));
	p = syscall(SYS_ioprio_get, 1, 0);
	printf("ioprio now: class %ld data %ld\n", p >> 13, p & 0xff);
	res("ioprio_set be 8", syscall(SYS_ioprio_set, 1, 0, (2 << 13) | 8));
	res("ioprio_set class 5", syscall(SYS_ioprio_set, 1, 0, 5 << 13));
	res("ioprio_get bad which", syscall(SYS_ioprio_get, 9, 0));
	res("ioprio_set bad which", syscall(SYS_ioprio_set, 9, 0, 2 << 13));
}

struct attr {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t prio;
	uint64_t runtime, deadline, period;
	uint32_t umin, umax;
};

static void sched_attrs(void)
{
	struct attr a;
	memset(&a, 0xff, sizeof a);
	res("sched_getattr", syscall(SYS_sched_getattr, 0, &a, sizeof a, 0));
	printf("size %u policy %u flags %llu nice %d prio %u\n", a.size, a.policy,
	       (unsigned long long)a.flags, a.nice, a.prio);
	res("sched_getattr small", syscall(SYS_sched_getattr, 0, &a, 40, 0));
	res("sched_getattr flags", syscall(SYS_sched_getattr, 0, &a, sizeof a, 1));
	res("sched_getattr bad pid", syscall(SYS_sched_getattr, -1, &a, sizeof a, 0));
	res("sched_getattr bad pointer", syscall(SYS_sched_getattr, 0, (void *)8, sizeof a, 0));
	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	a.policy = SCHED_OTHER;
	a.nice = 5;
	res("sched_setattr nice 5", syscall(SYS_sched_setattr, 0, &a, 0));
	memset(&a, 0, sizeof a);
	syscall(SYS_sched_getattr, 0, &a, sizeof a, 0);
	printf("nice now %d\n", a.nice);
	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	a.policy = SCHED_BATCH;
	a.nice = 6;
	res("sched_setattr batch", syscall(SYS_sched_setattr, 0, &a, 0));
	memset(&a, 0, sizeof a);
	syscall(SYS_sched_getattr, 0, &a, sizeof a, 0);
	printf("policy now %u nice %d\n", a.policy, a.nice);
	printf("sched_getscheduler agrees: %d\n", sched_getscheduler(0) == SCHED_BATCH);
	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	a.policy = 42;
	res("sched_setattr bad policy", syscall(SYS_sched_setattr, 0, &a, 0));
	a.policy = SCHED_OTHER;
	a.prio = 3;
	res("sched_setattr prio for OTHER", syscall(SYS_sched_setattr, 0, &a, 0));
	a.prio = 0;
	res("sched_setattr flags arg", syscall(SYS_sched_setattr, 0, &a, 1));
	a.size = 20;
	res("sched_setattr small size", syscall(SYS_sched_setattr, 0, &a, 0));
	printf("size written back %u\n", a.size);
	res("sched_setattr bad pointer", syscall(SYS_sched_setattr, 0, (void *)8, 0));
	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	a.policy = SCHED_OTHER;
	a.nice = 6;
	syscall(SYS_sched_setattr, 0, &a, 0);
}

static void capsets(void)
{
	struct __user_cap_header_struct h = { 0x1234, 0 };
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof d);
	res("capset bad version", syscall(SYS_capset, &h, d));
	printf("version written %#x\n", h.version);
	h.pid = 1;
	res("capset other pid", syscall(SYS_capset, &h, d));
	h.pid = 0;
	res("capset bad data", syscall(SYS_capset, &h, (void *)8));
	res("capset bad header", syscall(SYS_capset, (void *)8, d));
}

static void handles(void)
{
	res("chroot missing", chroot("/nonexistent/dir"));
	res("chroot a file", chroot("/dev/null"));
	res("chroot bad pointer", syscall(SYS_chroot, (void *)8));
	struct file_handle *fh = malloc(sizeof *fh + 128);
	fh->handle_bytes = 128;
	int mnt;
	res("name_to_handle_at bad flags", name_to_handle_at(AT_FDCWD, "/", fh, &mnt, 0x8000));
	res("name_to_handle_at missing", name_to_handle_at(AT_FDCWD, "/nonexistent", fh, &mnt, 0));
	res("name_to_handle_at empty path", name_to_handle_at(AT_FDCWD, "", fh, &mnt, 0));
	free(fh);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("== kcmp\n");
	kcmps();
	printf("== mincore\n");
	mincores();
	printf("== ioprio\n");
	ioprios();
	printf("== sched_attr\n");
	sched_attrs();
	printf("== capset\n");
	capsets();
	printf("== handles\n");
	handles();
	return 0;
}
