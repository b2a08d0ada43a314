/* Memory management: brk, anonymous and file mappings, protections, faults. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile int faults;
static volatile int last_code;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	faults++;
	last_code = si->si_code;
	siglongjmp(env, sig);
}

static int try_write(volatile char *p)
{
	if (sigsetjmp(env, 1) == 0) {
		*p = 42;
		return 0;
	}
	return 1;
}

static int try_read(volatile char *p)
{
	if (sigsetjmp(env, 1) == 0) {
		volatile char c = *p;
		(void)c;
		return 0;
	}
	return 1;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);

	/* brk */
	/* (no output between growing and shrinking: printf's buffer comes from malloc,
	 * which may live in the heap the shrink gives back) */
	char *b0 = sbrk(0);
	char *b1 = sbrk(1 << 20);
	memset(b1, 7, 1 << 20);
	long grew = (char *)sbrk(0) - b0;
	sbrk(-(1 << 20));
	long back = (char *)sbrk(0) - b0;
	printf("sbrk grew: %d, shrank back: %d\n", grew >= (1 << 20), back == 0);

	/* malloc of many sizes */
	unsigned long sum = 0;
	for (int i = 1; i < 2000; i++) {
		unsigned char *p = malloc(i * 37);
		memset(p, i & 0xff, i * 37);
		sum += p[i * 37 - 1];
		free(p);
	}
	printf("malloc sum: %lu\n", sum);

	/* anonymous mapping: zero-filled, demand paged */
	size_t len = 64 << 20;
	unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("mmap ok: %d\n", m != MAP_FAILED);
	unsigned long z = 0;
	for (size_t off = 0; off < len; off += 4096 * 97)
		z += m[off];
	printf("zero: %lu\n", z);
	for (size_t off = 0; off < len; off += 4096 * 13)
		m[off] = 1;
	z = 0;
	for (size_t off = 0; off < len; off += 4096 * 13)
		z += m[off];
	printf("touched pages: %lu\n", z);

	/* mprotect: read-only, then faults on write */
	mprotect(m, 4096 * 4, PROT_READ);
	printf("write to PROT_READ faults: %d code=%d\n", try_write((char *)m + 8), last_code);
	printf("read from PROT_READ ok: %d\n", !try_read((char *)m + 8));
	mprotect(m, 4096 * 4, PROT_NONE);
	printf("read from PROT_NONE faults: %d code=%d\n", try_read((char *)m), last_code);
	mprotect(m, 4096 * 4, PROT_READ | PROT_WRITE);
	printf("contents survive PROT_NONE: %d\n", m[0]);

	/* munmap: access faults with SEGV_MAPERR */
	munmap(m + 4096 * 8, 4096 * 8);
	printf("unmapped access faults: %d code=%d\n", try_read((char *)m + 4096 * 9), last_code);
	printf("neighbour still mapped: %d\n", !try_read((char *)m + 4096 * 16));
	munmap(m, len);

	/* MAP_FIXED over an existing mapping, MAP_FIXED_NOREPLACE */
	char *a = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	strcpy(a, "old");
	char *f = mmap(a, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	printf("MAP_FIXED same address: %d, zeroed: %d\n", f == a, a[0] == 0);
	/* (MAP_FIXED_NOREPLACE over it fails with EEXIST on Linux and tern, but
	 * qemu-riscv64 7.2 maps anyway, so it is not compared here.) */

	/* mremap grows and moves, keeping contents */
	char *r = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	strcpy(r, "remapped contents");
	char *r2 = mremap(r, 4096, 1 << 20, MREMAP_MAYMOVE);
	printf("mremap: %s, tail zero: %d\n", r2, r2[(1 << 20) - 1] == 0);

	/* file mapping */
	char path[] = "/tmp/tern-memory-XXXXXX";
	int fd = mkstemp(path);
	const char text[] = "file-backed mapping works\n";
	for (int i = 0; i < 3000; i++)
		write(fd, text, sizeof text - 1);
	char *fm = mmap(NULL, 3000 * (sizeof text - 1), PROT_READ, MAP_PRIVATE, fd, 0);
	printf("file map: %.25s, last byte newline: %d\n", fm + (sizeof text - 1) * 2999,
	       fm[3000 * (sizeof text - 1) - 1] == '\n');
	char *fo = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 4096);
	fo[0] = 'X';
	char c;
	pread(fd, &c, 1, 4096);
	printf("private write not in file: %d\n", c != 'X');
	close(fd);
	unlink(path);

	/* executable mapping: copy a tiny function ("li a0,42; ret") and call it */
	unsigned int code[] = {0x02a00513, 0x00008067};
	void *x = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memcpy(x, code, sizeof code);
	mprotect(x, 4096, PROT_READ | PROT_EXEC);
	__builtin___clear_cache(x, (char *)x + sizeof code);
	int (*fn)(void) = (int (*)(void))x;
	printf("generated code returns %d\n", fn());
	/* rewrite it: a new constant must be seen */
	mprotect(x, 4096, PROT_READ | PROT_WRITE);
	((unsigned int *)x)[0] = 0x06300513; /* li a0,99 */
	mprotect(x, 4096, PROT_READ | PROT_EXEC);
	__builtin___clear_cache(x, (char *)x + sizeof code);
	printf("rewritten code returns %d\n", fn());

	printf("faults seen: %d\n", faults);
	return 0;
}
