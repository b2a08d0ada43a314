/* Tries to reach beyond the process VM through signals, memory, descriptors and
 * futexes; prints what each attempt saw. `crates/tern/tests/escape_process.rs` runs
 * one mode at a time and checks the outcome on the host side as well.
 *
 *   escape_process futex
 *   escape_process signals SENTINEL_PID
 *   escape_process mmap FILE [FILE...]
 *   escape_process scratch THREADS
 *   escape_process threads MAX
 *   escape_process fds
 *   escape_process fdlimit
 *   escape_process hold            (receives a pipe end, then waits for a snapshot)
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
	fprintf(stderr, "unknown mode %s\n", mode);
	return 2;
}
