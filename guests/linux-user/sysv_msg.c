/* SysV message queues across fork and execve: a producer child and a consumer
 * parent, selection by type (0, >0, <0, MSG_EXCEPT), MSG_NOERROR and E2BIG, a full
 * queue that blocks its sender, EIDRM and EINTR for blocked receivers, IPC_STAT and
 * IPC_SET, a keyed queue found by a program started with execve, argument errors.
 * The execve part runs only with the argument "withexec" (qemu-riscv64 can run a
 * riscv64 program a guest execs only with binfmt_misc set up, which test machines
 * lack: the test compares the rest with qemu and checks that part on its own).
 * With arguments "exec KEY": the program started by execve. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <unistd.h>

struct m {
	long mtype;
	char text[256];
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
	case ENOMSG: return "ENOMSG";
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
		if (r_ == -1)                                                  \
			printf("%s: %s\n", label, ename(errno));               \
		else                                                           \
			printf("%s: %ld\n", label, r_);                        \
	} while (0)

static int send(int q, long type, const char *s, int flg)
{
	struct m m;
	m.mtype = type;
	strcpy(m.text, s);
	return msgsnd(q, &m, strlen(s), flg);
}

/* Receives and prints one message. */
static void recv_show(const char *label, int q, size_t size, long type, int flg)
{
	struct m m;
	memset(&m, 0, sizeof m);
	errno = 0;
	ssize_t n = msgrcv(q, &m, size, type, flg);
	if (n < 0)
		printf("%s: %s\n", label, ename(errno));
	else
		printf("%s: type %ld \"%.*s\"\n", label, m.mtype, (int)n, m.text);
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

static unsigned long qnum(int q)
{
	struct msqid_ds ds;
	msgctl(q, IPC_STAT, &ds);
	return ds.msg_qnum;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "exec") == 0) {
		int q = msgget((key_t)strtol(argv[2], NULL, 0), 0);
		if (q < 0)
			return 10;
		return send(q, 9, "from the exec'd program", 0) == 0 ? 0 : 11;
	}

	/* A producer child: 300 messages of types 1..3; the parent takes type 2
	 * first (blocking while the child is still sending), then the rest. */
	int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 300; i++) {
			char s[32];
			snprintf(s, sizeof s, "m%d", i);
			if (send(q, 1 + i % 3, s, 0) != 0)
				_exit(1);
		}
		_exit(0);
	}
	long sum2 = 0, n2 = 0, sum = 0, n = 0;
	struct m m;
	for (int i = 0; i < 100; i++) {
		ssize_t len = msgrcv(q, &m, sizeof m.text, 2, 0);
		m.text[len] = 0;
		sum2 += atoi(m.text + 1);
		n2++;
	}
	for (int i = 0; i < 200; i++) {
		ssize_t len = msgrcv(q, &m, sizeof m.text, 0, 0);
		m.text[len] = 0;
		sum += atoi(m.text + 1);
		n++;
	}
	printf("producer %d; type 2: %ld messages sum %ld; others: %ld sum %ld\n",
	       child_status(pid), n2, sum2, n, sum);

	/* Selection by type. */
	send(q, 5, "five", 0);
	send(q, 3, "three", 0);
	send(q, 4, "four", 0);
	send(q, 3, "three again", 0);
	recv_show("lowest type <= 4", q, 256, -4, 0);
	recv_show("not type 3", q, 256, 3, MSG_EXCEPT);
	recv_show("too small", q, 3, 0, 0);
	recv_show("truncated", q, 3, 0, MSG_NOERROR);
	recv_show("type 3", q, 256, 3, 0);
	recv_show("nothing of type 7", q, 256, 7, IPC_NOWAIT);
	printf("left: %lu\n", qnum(q));

	/* A small queue: the second message waits until the first is taken. */
	struct msqid_ds ds;
	msgctl(q, IPC_STAT, &ds);
	printf("qbytes %lu mode %o\n", (unsigned long)ds.msg_qbytes, ds.msg_perm.mode & 0777);
	ds.msg_qbytes = 10;
	SHOW("IPC_SET qbytes 10", msgctl(q, IPC_SET, &ds));
	SHOW("send 8 bytes", send(q, 1, "12345678", 0));
	SHOW("send nowait", send(q, 1, "abcdefgh", IPC_NOWAIT));
	pid = fork();
	if (pid == 0)
		_exit(send(q, 1, "abcdefgh", 0) == 0 ? 0 : 1);
	while (qnum(q) != 1)
		usleep(1000);
	usleep(20000);
	printf("queued while the sender waits: %lu\n", qnum(q));
	recv_show("first", q, 256, 0, 0);
	printf("blocked sender: %d\n", child_status(pid));
	recv_show("second", q, 256, 0, 0);
	ds.msg_qbytes = 1 << 20;
	SHOW("IPC_SET qbytes 1 MiB", getuid() == 0 ? (errno = EPERM, -1) : msgctl(q, IPC_SET, &ds));

	/* EINTR for a blocked receiver that takes a signal. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	int ready[2];
	pipe(ready);
	pid = fork();
	if (pid == 0) {
		write(ready[1], "x", 1);
		ssize_t r = msgrcv(q, &m, sizeof m.text, 0, 0);
		_exit(r == -1 && errno == EINTR ? 4 : 5);
	}
	char c;
	read(ready[0], &c, 1);
	usleep(100000);
	kill(pid, SIGUSR1);
	printf("interrupted receiver: %d (4 = EINTR)\n", child_status(pid));

	/* A keyed queue, found by a program started with execve (same VM). */
	key_t key = 0x4d000000 | (getpid() & 0xffffff);
	int kq = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
	SHOW("keyed queue made", kq < 0 ? -1 : 0);
	SHOW("again with IPC_EXCL", msgget(key, IPC_CREAT | IPC_EXCL | 0600));
	SHOW("found by key", msgget(key, 0) == kq ? 0 : -1);
	if (argc > 1 && strcmp(argv[1], "withexec") == 0) {
		char keys[32];
		snprintf(keys, sizeof keys, "%d", (int)key);
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			execl("/proc/self/exe", argv[0], "exec", keys, (char *)NULL);
			_exit(12);
		}
		printf("exec'd program: %d\n", child_status(pid));
		recv_show("its message", kq, 256, 0, IPC_NOWAIT);
	}
	msgctl(kq, IPC_RMID, NULL);
	SHOW("removed key", msgget(key, 0));

	/* Errors. */
	m.mtype = 0;
	SHOW("mtype 0", msgsnd(q, &m, 1, 0));
	m.mtype = 1;
	/* (qemu-riscv64 copies the text before it checks the size: a buffer that
	 * large keeps it from faulting in its own code.) */
	static struct {
		long mtype;
		char text[9000];
	} big = { 1, { 0 } };
	SHOW("size 8193", msgsnd(q, &big, 8193, 0));
	SHOW("bad pointer", msgsnd(q, (void *)8, 1, 0));
	SHOW("bad id", msgsnd(q + 1, &m, 1, 0));
	SHOW("rcv bad id", msgrcv(-1, &m, 1, 0, 0));
	SHOW("msgctl bad cmd", msgctl(q, 1234, &ds));
	SHOW("msgget missing key", msgget(0x4e000000 | (getpid() & 0xffffff), 0));

	/* EIDRM for a blocked receiver. */
	pid = fork();
	if (pid == 0) {
		write(ready[1], "x", 1);
		ssize_t r = msgrcv(q, &m, sizeof m.text, 0, 0);
		_exit(r == -1 && errno == EIDRM ? 6 : 7);
	}
	read(ready[0], &c, 1);
	usleep(100000);
	msgctl(q, IPC_RMID, NULL);
	printf("receiver of a removed queue: %d (6 = EIDRM)\n", child_status(pid));
	SHOW("IPC_STAT after IPC_RMID", msgctl(q, IPC_STAT, &ds));
	return 0;
}
