/* A program for the sandbox tests (crates/tern/tests/sandbox.rs): it stays alive
 * while the test looks at the tern process that runs it (/proc/PID/...).
 *
 *   sandbox wait        print "ready", then wait for standard input to close
 *   sandbox exec PATH   execve PATH with "wait" (tern starts again, in the sandbox
 *                       it inherits)
 *   sandbox spin N      print "ready", count to N (a snapshot can be taken), print
 *                       "done"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "wait") == 0) {
		char buf[256];
		printf("ready\n");
		fflush(stdout);
		while (read(0, buf, sizeof buf) > 0)
			;
		printf("bye\n");
		return 0;
	}
	if (argc > 2 && strcmp(argv[1], "exec") == 0) {
		char *args[] = { argv[2], "wait", NULL };
		execv(argv[2], args);
		perror("execv");
		return 1;
	}
	if (argc > 2 && strcmp(argv[1], "spin") == 0) {
		volatile unsigned long i, n = strtoul(argv[2], NULL, 10);
		printf("ready\n");
		fflush(stdout);
		for (i = 0; i < n; i++)
			;
		printf("done\n");
		return 0;
	}
	fprintf(stderr, "usage: sandbox wait | exec PATH | spin N\n");
	return 2;
}
