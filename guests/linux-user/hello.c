/* Smallest program: a line on stdout and a chosen exit status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	printf("hello from riscv64, argc=%d\n", argc);
	for (int i = 1; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	return argc > 1 ? atoi(argv[1]) : 0;
}
