/* SysV semaphores across fork: a semaphore as a mutex between four children,
 * blocking and wake-up, GETNCNT/GETZCNT, SEM_UNDO at exit and at SIGKILL, EIDRM for
 * a waiter whose set is removed, EINTR for a waiter that takes a signal,
 * semtimedop's timeout, IPC_STAT/IPC_SET, and argument errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

static const char *ename(int e)
{
	switch (e) {
	case 0: return "0";
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case EEXIST: return "EEXIST";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case EFAULT: return "EFAULT";
	case E2BIG: return "E2BIG";
	case EFBIG: return "EFBIG";
	case ERANGE: return "ERANGE";
	case EAGAIN: return "EAGAIN";
	case EIDRM: return "EIDRM";
	case EINTR: return "EINTR";
	default: return "other";
	}
}

#define SHOW(label, expr)                                                      \
	do {                                                                   \
		errno = 0;                                                     \
		long r_ = (long)(expr);                                        \
		printf("%s: %s\n", label, r_ == -1 ? ename(errno) : "ok");    \
	} while (0)

static int op(int id, unsigned short num, short delta, short flg)
{
	struct sembuf b = { num, delta, flg };
	return semop(id, &b, 1);
}

static void wait_count(int id, int num, int cmd, int want)
{
	while (semctl(id, num, cmd) != want)
		usleep(1000);
}

static int child_status(pid_t pid)
{
	int st;
	waitpid(pid, &st, 0);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

static void on_usr1(int s) { (void)s; }

int main(void)
{
	/* A mutex (sem 0) guarding a counter kept in sem 1, updated with a
	 * read-modify-write by four processes: no update may be lost. */
	int id = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
	unsigned short init[2] = { 1, 0 };
	semctl(id, 0, SETALL, (union semun){ .array = init });
	fflush(stdout);
	pid_t kids[4];
	for (int k = 0; k < 4; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			for (int i = 0; i < 200; i++) {
				op(id, 0, -1, 0);
				int v = semctl(id, 1, GETVAL);
				if ((i & 7) == 0)
					sched_yield();
				semctl(id, 1, SETVAL, (union semun){ .val = v + 1 });
				op(id, 0, 1, 0);
			}
			_exit(0);
		}
	}
	for (int k = 0; k < 4; k++)
		child_status(kids[k]);
	unsigned short all[2];
	semctl(id, 0, GETALL, (union semun){ .array = all });
	printf("mutex %d counter %d\n", all[0], all[1]);

	/* A child blocks until the parent posts; it is counted meanwhile. */
	semctl(id, 1, SETVAL, (union semun){ .val = 0 });
	pid_t pid = fork();
	if (pid == 0)
		_exit(op(id, 1, -1, 0) == 0 ? 0 : 1);
	wait_count(id, 1, GETNCNT, 1);
	printf("ncnt while blocked: %d\n", semctl(id, 1, GETNCNT));
	op(id, 1, 1, 0);
	printf("blocked child after post: %d, ncnt %d\n", child_status(pid),
	       semctl(id, 1, GETNCNT));

	/* Wait-for-zero. */
	semctl(id, 1, SETVAL, (union semun){ .val = 2 });
	pid = fork();
	if (pid == 0)
		_exit(op(id, 1, 0, 0) == 0 ? 0 : 1);
	wait_count(id, 1, GETZCNT, 1);
	printf("zcnt while blocked: %d\n", semctl(id, 1, GETZCNT));
	op(id, 1, -2, 0);
	printf("zero waiter: %d\n", child_status(pid));

	/* SEM_UNDO: undone at exit, and when the process is killed. */
	semctl(id, 1, SETVAL, (union semun){ .val = 3 });
	pid = fork();
	if (pid == 0) {
		op(id, 1, -2, SEM_UNDO);
		_exit(0);
	}
	child_status(pid);
	printf("after an exit with undo: %d\n", semctl(id, 1, GETVAL));
	int ready[2];
	pipe(ready);
	pid = fork();
	if (pid == 0) {
		op(id, 1, -3, SEM_UNDO);
		write(ready[1], "x", 1);
		pause();
		_exit(0);
	}
	char c;
	read(ready[0], &c, 1);
	printf("held by the child: %d\n", semctl(id, 1, GETVAL));
	kill(pid, SIGKILL);
	printf("killed child: %d\n", child_status(pid));
	/* Blocks until the undo of the killed child gives the value back. */
	printf("take after the kill: %s\n", op(id, 1, -3, 0) == 0 ? "ok" : ename(errno));
	printf("value: %d\n", semctl(id, 1, GETVAL));

	/* EINTR: a handler runs, the wait is not restarted (even with SA_RESTART). */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	semctl(id, 1, SETVAL, (union semun){ .val = 0 });
	pid = fork();
	if (pid == 0) {
		int r = op(id, 1, -1, 0);
		_exit(r == -1 && errno == EINTR ? 4 : 5);
	}
	wait_count(id, 1, GETNCNT, 1);
	kill(pid, SIGUSR1);
	printf("interrupted waiter: %d (4 = EINTR)\n", child_status(pid));

	/* semtimedop times out with EAGAIN. */
	struct sembuf b = { 1, -1, 0 };
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	SHOW("semtimedop timeout", semtimedop(id, &b, 1, &ts));
	ts.tv_nsec = 2000000000;
	SHOW("semtimedop bad timeout", semtimedop(id, &b, 1, &ts));

	/* IPC_STAT and IPC_SET. */
	struct semid_ds ds;
	semctl(id, 0, IPC_STAT, (union semun){ .buf = &ds });
	printf("nsems %lu mode %o\n", (unsigned long)ds.sem_nsems, ds.sem_perm.mode & 0777);
	ds.sem_perm.mode = 0640;
	SHOW("IPC_SET", semctl(id, 0, IPC_SET, (union semun){ .buf = &ds }));
	semctl(id, 0, IPC_STAT, (union semun){ .buf = &ds });
	printf("mode now %o\n", ds.sem_perm.mode & 0777);

	/* Errors. */
	SHOW("semop nsops 0", semop(id, &b, 0));
	SHOW("semop semnum 5", op(id, 5, 1, 0));
	SHOW("semop nowait", op(id, 1, -1, IPC_NOWAIT));
	SHOW("semop bad pointer", semop(id, (struct sembuf *)8, 1));
	SHOW("semop bad id", op(id + 1, 0, 1, 0));
	SHOW("semop past SEMVMX", op(id, 0, 32767, 0));
	SHOW("SETVAL -1", semctl(id, 0, SETVAL, (union semun){ .val = -1 }));
	SHOW("GETVAL semnum 2", semctl(id, 2, GETVAL));
	SHOW("semctl bad cmd", semctl(id, 0, 1234));
	SHOW("semget nsems -1", semget(IPC_PRIVATE, -1, 0600));
	SHOW("semget nsems 0", semget(IPC_PRIVATE, 0, 0600));
	key_t key = 0x53000000 | (getpid() & 0xffffff);
	int kid = semget(key, 3, IPC_CREAT | IPC_EXCL | 0600);
	SHOW("semget keyed", kid);
	SHOW("semget again EXCL", semget(key, 3, IPC_CREAT | IPC_EXCL | 0600));
	SHOW("semget more sems", semget(key, 4, 0));
	SHOW("semget same", semget(key, 2, 0) == kid ? 0 : -1);
	semctl(kid, 0, IPC_RMID);
	SHOW("semget removed key", semget(key, 3, 0));

	/* EIDRM: a waiter whose set is removed. */
	pid = fork();
	if (pid == 0) {
		int r = op(id, 1, -1, 0);
		_exit(r == -1 && errno == EIDRM ? 6 : 7);
	}
	wait_count(id, 1, GETNCNT, 1);
	semctl(id, 0, IPC_RMID);
	printf("waiter of a removed set: %d (6 = EIDRM)\n", child_status(pid));
	SHOW("GETVAL after IPC_RMID", semctl(id, 0, GETVAL));
	return 0;
}
