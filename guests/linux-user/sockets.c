/* Sockets: socketpair, Unix stream sockets, TCP and UDP on the loopback. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int tcp_listener;

static void *tcp_server(void *arg)
{
	(void)arg;
	int c = accept(tcp_listener, NULL, NULL);
	char buf[256];
	ssize_t n = recv(c, buf, sizeof buf, 0);
	for (ssize_t i = 0; i < n; i++)
		buf[i] = buf[i] >= 'a' && buf[i] <= 'z' ? buf[i] - 32 : buf[i];
	send(c, buf, n, 0);
	close(c);
	return NULL;
}

int main(void)
{
	/* socketpair with fd passing */
	int sv[2];
	printf("socketpair: %d\n", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	int pfd[2];
	pipe(pfd);
	write(pfd[1], "passed fd works", 15);
	char cbuf[CMSG_SPACE(sizeof(int))];
	memset(cbuf, 0, sizeof cbuf);
	struct iovec iov = {"F", 1};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &pfd[0], sizeof(int));
	printf("sendmsg: %zd\n", sendmsg(sv[0], &m, 0));
	char b1;
	struct iovec riov = {&b1, 1};
	char rcbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr rm = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = rcbuf, .msg_controllen = sizeof rcbuf};
	printf("recvmsg: %zd\n", recvmsg(sv[1], &rm, 0));
	int got;
	memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&rm)), sizeof(int));
	char buf[256] = {0};
	read(got, buf, 15);
	printf("via passed fd: %s\n", buf);

	/* Unix stream socket in the file system, served by a child */
	char path[] = "/tmp/tern-sock-XXXXXX";
	int tmp = mkstemp(path);
	close(tmp);
	unlink(path);
	int ls = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	strcpy(un.sun_path, path);
	printf("unix bind: %d listen: %d\n", bind(ls, (struct sockaddr *)&un, sizeof un), listen(ls, 4));
	pid_t pid = fork();
	if (pid == 0) {
		int c = accept(ls, NULL, NULL);
		char b[64];
		ssize_t n = read(c, b, sizeof b);
		write(c, b, n);
		write(c, "!", 1);
		_exit(0);
	}
	int cs = socket(AF_UNIX, SOCK_STREAM, 0);
	printf("unix connect: %d\n", connect(cs, (struct sockaddr *)&un, sizeof un));
	write(cs, "echo", 4);
	memset(buf, 0, sizeof buf);
	int tot = 0;
	while (tot < 5) {
		ssize_t n = read(cs, buf + tot, sizeof buf - tot);
		if (n <= 0)
			break;
		tot += n;
	}
	printf("unix echo: %s\n", buf);
	waitpid(pid, NULL, 0);
	close(cs);
	close(ls);
	unlink(path);

	/* TCP on 127.0.0.1, an ephemeral port, served by a thread */
	tcp_listener = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(tcp_listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = 0};
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	printf("tcp bind: %d\n", bind(tcp_listener, (struct sockaddr *)&in, sizeof in));
	listen(tcp_listener, 4);
	socklen_t len = sizeof in;
	getsockname(tcp_listener, (struct sockaddr *)&in, &len);
	printf("ephemeral port assigned: %d\n", ntohs(in.sin_port) != 0);
	pthread_t th;
	pthread_create(&th, NULL, tcp_server, NULL);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	printf("tcp connect: %d\n", connect(c, (struct sockaddr *)&in, sizeof in));
	int nd = 0;
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	len = sizeof nd;
	getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &nd, &len);
	printf("nodelay: %d\n", nd != 0);
	send(c, "hello tcp", 9, 0);
	memset(buf, 0, sizeof buf);
	ssize_t n = recv(c, buf, sizeof buf, MSG_WAITALL);
	printf("tcp reply: %zd %s\n", n, buf);
	struct sockaddr_in peer;
	len = sizeof peer;
	getpeername(c, (struct sockaddr *)&peer, &len);
	printf("peer is loopback: %d\n", peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	pthread_join(th, NULL);
	close(c);
	close(tcp_listener);

	/* UDP */
	int u1 = socket(AF_INET, SOCK_DGRAM, 0), u2 = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a1 = {.sin_family = AF_INET};
	a1.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(u1, (struct sockaddr *)&a1, sizeof a1);
	len = sizeof a1;
	getsockname(u1, (struct sockaddr *)&a1, &len);
	printf("udp sendto: %zd\n", sendto(u2, "datagram", 8, 0, (struct sockaddr *)&a1, sizeof a1));
	struct sockaddr_in from;
	len = sizeof from;
	memset(buf, 0, sizeof buf);
	n = recvfrom(u1, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
	printf("udp recvfrom: %zd %s from loopback %d\n", n, buf, from.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	printf("connect refused: %d\n", ({
		       int s = socket(AF_INET, SOCK_STREAM, 0);
		       struct sockaddr_in z = {.sin_family = AF_INET, .sin_port = htons(1)};
		       z.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		       connect(s, (struct sockaddr *)&z, sizeof z) < 0 && errno == ECONNREFUSED;
	       }));
	return 0;
}
