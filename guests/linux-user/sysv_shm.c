/* SysV shared memory across fork: children write a segment the parent reads,
 * shm_nattch through fork, exit and shmdt, IPC_RMID while attached (SHM_DEST, the
 * key freed, destroyed at the last detach), SHM_RDONLY (a write is SIGSEGV), two
 * attachments of one segment in one process, attach addresses (SHM_RND,
 * SHM_REMAP), and argument errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ename(int e)
{
	switch (e) {
	case 0: return "0";
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case EEXIST: return "EEXIST";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case EFAULT: return "EFAULT";
	case ENOMEM: return "ENOMEM";
	case ENOSPC: return "ENOSPC";
	case EIDRM: return "EIDRM";
	default: return "other";
	}
}

#define SHOW(label, expr)                                                      \
	do {                                                                   \
		errno = 0;                                                     \
		long r_ = (long)(expr);                                        \
		printf("%s: %s\n", label, r_ == -1 ? ename(errno) : "ok");    \
	} while (0)

static int child_status(pid_t pid)
{
	int st;
	waitpid(pid, &st, 0);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

#include <setjmp.h>
static sigjmp_buf past_end;
static void on_bus(int sig)
{
	(void)sig;
	siglongjmp(past_end, 1);
}

/* A segment keeps its size: an attachment made longer by mremap has SIGBUS pages
 * past the segment (the pages beyond are not another segment's). */
static void grown_attachment_is_sigbus_past_the_segment(void)
{
	int a = shmget(IPC_PRIVATE, 4096, 0600);
	int b = shmget(IPC_PRIVATE, 4096, 0600);
	char *pa = shmat(a, NULL, 0), *pb = shmat(b, NULL, 0);
	strcpy(pb, "segment b");
	char *g = mremap(pa, 4096, 2 * 4096, MREMAP_MAYMOVE);
	signal(SIGBUS, on_bus);
	if (g == MAP_FAILED) {
		printf("mremap of an attachment: %s\n", ename(errno));
	} else if (sigsetjmp(past_end, 1) == 0) {
		printf("past the segment: read %d\n", g[4096]);
	} else {
		printf("past the segment: SIGBUS\n");
	}
	signal(SIGBUS, SIG_DFL);
	shmdt(pb);
	shmctl(a, IPC_RMID, NULL);
	shmctl(b, IPC_RMID, NULL);
}

static long nattch(int id)
{
	struct shmid_ds ds;
	if (shmctl(id, IPC_STAT, &ds) != 0)
		return -1;
	return (long)ds.shm_nattch;
}

int main(void)
{
	const size_t size = 64 * 1024;
	int id = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
	unsigned char *p = shmat(id, NULL, 0);
	int zero = 1;
	for (size_t i = 0; i < size; i++)
		zero &= p[i] == 0;
	printf("new segment is zero: %d, nattch %ld\n", zero, nattch(id));

	/* Four children each fill a quarter (one attaches the segment again itself). */
	fflush(stdout);
	pid_t kids[4];
	for (int k = 0; k < 4; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			unsigned char *q = p;
			if (k == 3)
				q = shmat(id, NULL, 0);
			for (size_t i = k * size / 4; i < (k + 1) * size / 4; i++)
				q[i] = (unsigned char)(i * 7 + k);
			_exit(0);
		}
	}
	for (int k = 0; k < 4; k++)
		child_status(kids[k]);
	int good = 1;
	for (size_t i = 0; i < size; i++)
		good &= p[i] == (unsigned char)(i * 7 + i / (size / 4));
	printf("children's writes seen: %d, nattch after they ended %ld\n", good, nattch(id));

	/* nattch counts a forked child's inherited attachment while it lives. */
	int go[2];
	pipe(go);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		read(go[0], &c, 1);
		p[0] = 42;
		_exit(0);
	}
	printf("nattch with a child: %ld\n", nattch(id));
	write(go[1], "x", 1);
	child_status(pid);
	printf("child wrote %d, nattch %ld\n", p[0], nattch(id));

	/* Two attachments in one process show the same pages. */
	unsigned char *p2 = shmat(id, NULL, 0);
	p2[100] = 99;
	printf("second attachment: same pages %d, nattch %ld\n", p[100] == 99, nattch(id));
	SHOW("shmdt second", shmdt(p2));
	SHOW("shmdt again", shmdt(p2));
	SHOW("shmdt not page-aligned", shmdt(p + 1));
	SHOW("shmdt inside", shmdt(p + 4096));
	printf("nattch %ld\n", nattch(id));

	/* Read-only attachment: a write is SIGSEGV. */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		volatile unsigned char *r = shmat(id, NULL, SHM_RDONLY);
		int ok = r[100] == 99;
		r[0] = 1;
		_exit(ok ? 0 : 1);
	}
	printf("write to a read-only attachment: status %d\n", child_status(pid));

	/* Attach addresses. */
	unsigned char *area = mmap(NULL, 4 * size, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(area, 4 * size);
	SHOW("shmat unaligned", shmat(id, area + 1, 0));
	void *r = shmat(id, area + 1, SHM_RND);
	printf("SHM_RND rounds down: %d\n", r == (void *)area);
	SHOW("shmat over a mapping", shmat(id, area, 0));
	r = shmat(id, area, SHM_REMAP);
	printf("SHM_REMAP replaces: %d, sees data %d\n", r == (void *)area, area[100] == 99);
	shmdt(area);
	shmdt(area);

	/* IPC_STAT, IPC_SET. */
	struct shmid_ds ds;
	shmctl(id, IPC_STAT, &ds);
	printf("segsz %lu mode %o\n", (unsigned long)ds.shm_segsz, ds.shm_perm.mode & 0777);
	ds.shm_perm.mode = 0640;
	SHOW("IPC_SET", shmctl(id, IPC_SET, &ds));
	shmctl(id, IPC_STAT, &ds);
	printf("mode now %o\n", ds.shm_perm.mode & 0777);

	/* A keyed segment removed while attached. */
	key_t key = 0x5a000000 | (getpid() & 0xffffff);
	int kid = shmget(key, 8192, IPC_CREAT | IPC_EXCL | 0600);
	SHOW("keyed", kid);
	SHOW("again EXCL", shmget(key, 8192, IPC_CREAT | IPC_EXCL | 0600));
	SHOW("larger", shmget(key, 8193, 0));
	SHOW("smaller", shmget(key, 100, 0) == kid ? 0 : -1);
	char *k = shmat(kid, NULL, 0);
	strcpy(k, "still here");
	SHOW("IPC_RMID attached", shmctl(kid, IPC_RMID, NULL));
	SHOW("key after IPC_RMID", shmget(key, 8192, 0));
	shmctl(kid, IPC_STAT, &ds);
	printf("SHM_DEST %d, nattch %lu, data \"%s\"\n", (ds.shm_perm.mode & SHM_DEST) != 0,
	       (unsigned long)ds.shm_nattch, k);
	SHOW("shmdt last", shmdt(k));
	SHOW("IPC_STAT destroyed", shmctl(kid, IPC_STAT, &ds));

	/* Errors. */
	SHOW("shmget size 0", shmget(IPC_PRIVATE, 0, 0600));
	SHOW("shmget missing key", shmget(key, 4096, 0));
	SHOW("shmat bad id", shmat(id + 1, NULL, 0));
	SHOW("shmat id -1", shmat(-1, NULL, 0));
	SHOW("shmctl bad cmd", shmctl(id, 1234, &ds));
	SHOW("shmctl bad id", shmctl(id + 1, IPC_STAT, &ds));
	SHOW("IPC_STAT bad pointer", shmctl(id, IPC_STAT, (struct shmid_ds *)8));

	shmdt(p);
	SHOW("IPC_RMID", shmctl(id, IPC_RMID, NULL));
	SHOW("IPC_STAT removed", shmctl(id, IPC_STAT, &ds));
	grown_attachment_is_sigbus_past_the_segment();
	return 0;
}
