/* Smallest program: a line on stdout and a chosen exit status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "nosys") == 0) {
		/* a system call number Linux does not have, twice: -ENOSYS */
		long r1 = syscall(4000), e1 = errno;
		long r2 = syscall(4000), e2 = errno;
		printf("nosys: %ld %ld, ENOSYS: %d\n", r1, r2, e1 == ENOSYS && e2 == ENOSYS);
		return 0;
	}
	printf("hello from riscv64, argc=%d\n", argc);
	for (int i = 1; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	return argc > 1 ? atoi(argv[1]) : 0;
}
