/* Waits for a signal from outside: `waitsig handle` catches SIGTERM (exit status 7),
 * `waitsig default` leaves it to the default action (killed by SIGTERM). Prints
 * "ready" once waiting. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void on_term(int sig)
{
	(void)sig;
	static const char msg[] = "got SIGTERM\n";
	write(1, msg, sizeof msg - 1);
	_exit(7);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "handle") == 0)
		signal(SIGTERM, on_term);
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
