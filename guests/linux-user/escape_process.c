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
	fprintf(stderr, "unknown mode %s\n", mode);
	return 2;
}
