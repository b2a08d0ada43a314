/* SysV keys are per VM: `sysv_key hold KEY` makes a semaphore set and a message
 * queue with KEY, shows that a forked child of the same VM finds both, prints
 * "holding" and waits to be killed; `sysv_key probe KEY` looks the key up (used by
 * the test that runs a second VM meanwhile: it must find nothing). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

static void probe(key_t key, const char *who)
{
	int s = semget(key, 0, 0);
	int se = errno;
	int m = msgget(key, 0);
	int me = errno;
	printf("%s: sem %s, msg %s\n", who, s >= 0 ? "found" : se == ENOENT ? "ENOENT" : "error",
	       m >= 0 ? "found" : me == ENOENT ? "ENOENT" : "error");
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	key_t key = (key_t)strtol(argv[2], NULL, 0);
	if (strcmp(argv[1], "probe") == 0) {
		probe(key, "probe");
		return 0;
	}
	if (semget(key, 1, IPC_CREAT | IPC_EXCL | 0600) < 0 ||
	    msgget(key, IPC_CREAT | IPC_EXCL | 0600) < 0) {
		printf("cannot create: %s\n", strerror(errno));
		return 1;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		probe(key, "same VM");
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	printf("holding\n");
	fflush(stdout);
	sleep(60);
	return 0;
}
