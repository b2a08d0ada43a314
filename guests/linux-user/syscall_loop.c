/* System-call dispatch cost: N rounds of getppid, a one-byte read of /dev/zero and
 * clock_gettime (default 1000000), then one line with a checksum. Measured under
 * callgrind to compare the instructions tern spends per call before and after a
 * change of its dispatch (see crates/tern-linux/README.md). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	int fd = open("/dev/zero", O_RDONLY);
	if (fd < 0) {
		perror("/dev/zero");
		return 1;
	}
	unsigned long sum = 0;
	char c = 1;
	struct timespec ts;
	for (long i = 0; i < n; i++) {
		sum += syscall(SYS_getppid) != 0;
		sum += read(fd, &c, 1) + c;
		sum += syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) == 0;
	}
	printf("%ld rounds, checksum %lu\n", n, sum);
	return 0;
}
