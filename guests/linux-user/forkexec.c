/* Processes: fork, wait statuses, death by signal, copy-on-fork, execve, vfork.
 *
 * `forkexec noexec` leaves out the execve parts: qemu-riscv64 can only run a riscv64
 * program a guest execs when binfmt_misc is set up for it, which test machines lack,
 * so the test compares that part with qemu and the execve part with expected text. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv, char **envp)
{
	if (argc > 1 && strcmp(argv[1], "child") == 0) {
		sigset_t cur;
		sigprocmask(SIG_BLOCK, NULL, &cur);
		struct sigaction old;
		sigaction(SIGUSR2, NULL, &old);
		printf("exec'd child: argv[2]=%s env TERN_TEST=%s usr1 blocked=%d usr2 ignored=%d\n",
		       argc > 2 ? argv[2] : "", getenv("TERN_TEST"), sigismember(&cur, SIGUSR1),
		       old.sa_handler == SIG_IGN);
		return 7;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	int st;
	pid_t pid = fork();
	if (pid == 0)
		_exit(3);
	waitpid(pid, &st, 0);
	printf("child exit: %d %d\n", WIFEXITED(st), WEXITSTATUS(st));

	pid = fork();
	if (pid == 0) {
		kill(getpid(), SIGKILL);
		for (;;)
			pause();
	}
	waitpid(pid, &st, 0);
	printf("child killed: %d sig=%d\n", WIFSIGNALED(st), WTERMSIG(st));

	pid = fork();
	if (pid == 0) {
		*(volatile int *)0 = 0;
		_exit(0);
	}
	waitpid(pid, &st, 0);
	printf("child segfault: %d sig=%d\n", WIFSIGNALED(st), WTERMSIG(st));

	/* memory is copied, not shared */
	static int shared_var = 1;
	pid = fork();
	if (pid == 0) {
		shared_var = 2;
		_exit(shared_var);
	}
	waitpid(pid, &st, 0);
	printf("copy-on-fork: child saw %d, parent sees %d\n", WEXITSTATUS(st), shared_var);

	if (argc > 1 && strcmp(argv[1], "noexec") == 0)
		goto children;

	/* execve of ourselves */
	pid = fork();
	if (pid == 0) {
		char *args[] = {argv[0], "child", "arg-two", NULL};
		char *env[] = {"TERN_TEST=yes", NULL};
		/* the mask and ignored signals survive execve; handlers do not */
		sigset_t b;
		sigemptyset(&b);
		sigaddset(&b, SIGUSR1);
		sigprocmask(SIG_BLOCK, &b, NULL);
		signal(SIGUSR2, SIG_IGN);
		execve("/proc/self/exe", args, env);
		perror("execve");
		_exit(99);
	}
	waitpid(pid, &st, 0);
	printf("exec'd child status: %d\n", WEXITSTATUS(st));

	/* vfork + exec */
	pid = vfork();
	if (pid == 0) {
		char *args[] = {argv[0], "child", "via-vfork", NULL};
		execve("/proc/self/exe", args, envp);
		_exit(98);
	}
	waitpid(pid, &st, 0);
	printf("vfork child status: %d\n", WEXITSTATUS(st));

	/* exec of a missing file fails with ENOENT */
	pid = fork();
	if (pid == 0) {
		char *args[] = {"nope", NULL};
		execve("/nonexistent/program", args, envp);
		_exit(errno == ENOENT ? 42 : 1);
	}
	waitpid(pid, &st, 0);
	printf("exec missing: %d\n", WEXITSTATUS(st));

children:
	/* many children */
	int sum = 0;
	for (int i = 0; i < 20; i++) {
		pid = fork();
		if (pid == 0)
			_exit(i);
	}
	while ((pid = wait(&st)) > 0)
		sum += WEXITSTATUS(st);
	printf("20 children, status sum %d\n", sum);
	return 0;
}
