/* POSIX message queues: open/create, send and receive by priority, attributes,
 * non-blocking and timed receives, a queue shared with a forked child by name,
 * notification by signal, unlink, and the errno of bad arguments. Output is
 * deterministic. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void res(const char *what, long r)
{
	if (r < 0)
		printf("%s: -1 %s\n", what, strerrorname_np(errno));
	else
		printf("%s: %ld\n", what, r);
}

static volatile sig_atomic_t notified;
static void on_usr1(int s, siginfo_t *si, void *c)
{
	(void)s;
	(void)c;
	notified = si->si_code == SI_MESGQ ? 1 : 2;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	char name[64];
	snprintf(name, sizeof name, "/tern-mq-test-%d", (int)getpid());
	struct mq_attr at = { .mq_maxmsg = 4, .mq_msgsize = 64 };
	mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &at);
	printf("mq_open: %s\n", q >= 0 ? "ok" : strerrorname_np(errno));
	res("mq_open O_EXCL again", mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &at));
	struct mq_attr got;
	mq_getattr(q, &got);
	printf("attr: maxmsg %ld msgsize %ld curmsgs %ld\n", got.mq_maxmsg, got.mq_msgsize, got.mq_curmsgs);
	res("send low", mq_send(q, "low", 3, 1));
	res("send high", mq_send(q, "high", 4, 9));
	res("send mid", mq_send(q, "mid", 3, 5));
	struct pollfd p = { .fd = q, .events = POLLIN };
	printf("poll: %d\n", poll(&p, 1, 0));
	char buf[64];
	unsigned prio;
	for (int i = 0; i < 3; i++) {
		ssize_t n = mq_receive(q, buf, sizeof buf, &prio);
		printf("receive: %zd \"%.*s\" prio %u\n", n, (int)(n > 0 ? n : 0), buf, prio);
	}
	res("send too long", mq_send(q, buf, 65, 0));
	res("receive small buffer", mq_receive(q, buf, 10, &prio));

	/* Non-blocking and timed. */
	struct mq_attr nb = { .mq_flags = O_NONBLOCK }, old;
	mq_setattr(q, &nb, &old);
	printf("old flags %ld\n", old.mq_flags);
	res("receive empty, nonblock", mq_receive(q, buf, sizeof buf, NULL));
	nb.mq_flags = 0;
	mq_setattr(q, &nb, NULL);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 20 * 1000 * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	res("timed receive", mq_timedreceive(q, buf, sizeof buf, NULL, &ts));
	ts.tv_nsec = 1000000000;
	res("timed receive bad timeout", mq_timedreceive(q, buf, sizeof buf, NULL, &ts));

	/* A child opens the queue by name and sends. */
	pid_t c = fork();
	if (c == 0) {
		mqd_t cq = mq_open(name, O_WRONLY);
		mq_send(cq, "from child", 10, 3);
		_exit(cq >= 0 ? 0 : 1);
	}
	int st;
	waitpid(c, &st, 0);
	ssize_t n = mq_receive(q, buf, sizeof buf, &prio);
	printf("child: exit %d, \"%.*s\" prio %u\n", WEXITSTATUS(st), (int)(n > 0 ? n : 0), buf, prio);

	/* Notification. */
	struct sigaction sa = { .sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO };
	sigaction(SIGUSR1, &sa, NULL);
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };
	res("mq_notify", mq_notify(q, &ev));
	res("mq_notify taken", mq_notify(q, &ev));
	mq_send(q, "ping", 4, 0);
	for (int i = 0; i < 1000 && !notified; i++)
		usleep(1000);
	printf("notified: %d\n", (int)notified);
	mq_receive(q, buf, sizeof buf, NULL);
	ev.sigev_notify = 77;
	res("mq_notify bad notify", mq_notify(q, &ev));

	res("mq_close", mq_close(q));
	res("mq_unlink", mq_unlink(name));
	res("mq_unlink again", mq_unlink(name));
	res("open missing", mq_open(name, O_RDONLY));
	res("open bad attr", mq_open(name, O_CREAT | O_RDWR, 0600, &(struct mq_attr){ .mq_maxmsg = 0, .mq_msgsize = 8 }));
	res("raw open with a slash", syscall(SYS_mq_open, "a/b", O_RDONLY, 0, NULL));
	res("raw open empty", syscall(SYS_mq_open, "", O_RDONLY, 0, NULL));
	res("send bad fd", mq_send((mqd_t)999, "x", 1, 0));
	return 0;
}
