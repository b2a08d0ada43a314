/* Pipes and readiness: pipe2, dup2, poll, select, epoll, eventfd, across fork. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	int p[2];
	pipe(p);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		for (int i = 0; i < 1000; i++)
			dprintf(p[1], "message %d\n", i);
		_exit(0);
	}
	close(p[1]);
	char buf[65536];
	long total = 0;
	ssize_t n;
	while ((n = read(p[0], buf, sizeof buf)) > 0)
		total += n;
	int st;
	waitpid(pid, &st, 0);
	printf("pipe from child: %ld bytes, child status %d\n", total, WEXITSTATUS(st));
	close(p[0]);

	/* dup2 of stdout into a pipe, read back */
	pipe(p);
	int saved = dup(1);
	dup2(p[1], 1);
	printf("through the pipe\n");
	fflush(stdout);
	dup2(saved, 1);
	close(p[1]);
	n = read(p[0], buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = 0;
	printf("read back: %s", buf);
	close(p[0]);

	/* non-blocking pipe: EAGAIN, and a full pipe */
	pipe2(p, O_NONBLOCK | O_CLOEXEC);
	n = read(p[0], buf, 10);
	printf("empty non-blocking read: %zd %s\n", n, errno == EAGAIN ? "EAGAIN" : "?");
	long wrote = 0;
	memset(buf, 'a', sizeof buf);
	while ((n = write(p[1], buf, 4096)) > 0)
		wrote += n;
	printf("pipe capacity >= 4096: %d, then %s\n", wrote >= 4096, errno == EAGAIN ? "EAGAIN" : "?");

	/* poll */
	struct pollfd pfd[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
	int r = poll(pfd, 2, 100);
	printf("poll: %d in=%d out=%d\n", r, !!(pfd[0].revents & POLLIN), !!(pfd[1].revents & POLLOUT));
	while (read(p[0], buf, sizeof buf) > 0)
		;
	pfd[0].revents = 0;
	r = poll(pfd, 1, 50);
	printf("poll empty with timeout: %d\n", r);

	/* select */
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	struct timeval tv = {0, 10000};
	r = select(p[0] + 1, &rs, NULL, NULL, &tv);
	printf("select empty: %d\n", r);
	write(p[1], "z", 1);
	FD_SET(p[0], &rs);
	tv.tv_usec = 10000;
	r = select(p[0] + 1, &rs, NULL, NULL, &tv);
	printf("select ready: %d isset=%d\n", r, FD_ISSET(p[0], &rs));
	read(p[0], buf, 1);

	/* epoll */
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1122334455667788ULL};
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	struct epoll_event out[4];
	r = epoll_wait(ep, out, 4, 10);
	printf("epoll empty: %d\n", r);
	write(p[1], "y", 1);
	r = epoll_wait(ep, out, 4, 100);
	printf("epoll ready: %d data=%llx in=%d\n", r, (unsigned long long)out[0].data.u64, !!(out[0].events & EPOLLIN));

	/* eventfd, shared with a child */
	int efd = eventfd(0, 0);
	if (fork() == 0) {
		uint64_t one = 5;
		write(efd, &one, 8);
		_exit(0);
	}
	uint64_t val = 0;
	read(efd, &val, 8);
	wait(NULL);
	printf("eventfd: %llu\n", (unsigned long long)val);
	ev.events = EPOLLIN;
	ev.data.fd = efd;
	epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
	val = 3;
	write(efd, &val, 8);
	r = epoll_wait(ep, out, 4, 100);
	int efd_seen = 0;
	for (int i = 0; i < r; i++)
		efd_seen |= out[i].data.fd == efd;
	printf("epoll sees eventfd: %d\n", efd_seen);

	/* SIGPIPE ignored: EPIPE */
	signal(SIGPIPE, SIG_IGN);
	int q[2];
	pipe(q);
	close(q[0]);
	n = write(q[1], "x", 1);
	printf("write to closed pipe: %zd %s\n", n, errno == EPIPE ? "EPIPE" : "?");
	return 0;
}
