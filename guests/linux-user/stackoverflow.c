/* A guest that recurses until its stack overflows: `stackoverflow` dies by SIGSEGV
 * itself (status 139 in the shell's sense); `stackoverflow child` lets a forked child
 * overflow and reports its wait status; `stackoverflow altstack` catches the
 * overflow with a handler on an alternate stack. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int deep(volatile char *prev, int n)
{
	volatile char buf[1024];
	if (n < 0)
		return 0;
	buf[0] = (char)n;
	buf[1023] = prev ? prev[0] : 0;
	return deep(buf, n + 1) + buf[1023];
}

static void on_segv(int sig)
{
	(void)sig;
	static const char msg[] = "caught the overflow on the alternate stack\n";
	write(1, msg, sizeof msg - 1);
	_exit(3);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "self";
	printf("mode %s\n", mode);
	fflush(stdout);
	if (strcmp(mode, "child") == 0) {
		for (int i = 0; i < 2; i++) {
			pid_t p = fork();
			if (p == 0)
				return deep(0, 0);
			int st;
			waitpid(p, &st, 0);
			printf("child %d: signaled %d signal %d\n", i, WIFSIGNALED(st), WTERMSIG(st));
		}
		return 0;
	}
	if (strcmp(mode, "altstack") == 0) {
		stack_t ss = {.ss_sp = malloc(65536), .ss_size = 65536};
		sigaltstack(&ss, 0);
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_segv;
		sa.sa_flags = SA_ONSTACK;
		sigaction(SIGSEGV, &sa, 0);
	}
	return deep(0, 0);
}
