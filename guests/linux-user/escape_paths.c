/* Tries to reach the host from inside `tern exec --root DIR` through the calls that
 * take a path but are not a plain open: Unix-socket names (connect, the VM's own
 * control socket, abstract names), truncate/statfs/chdir/fchdir/execve/chmod/utimes/
 * stat/access on names that exist only outside the root, and a `--bind` directory
 * swapped for a link while it is used. Prints what each attempt saw; the test checks
 * the host side (sentinels unchanged, no connection, no file written).
 *
 *   escape_paths sock HOSTDIR SECONDS       connect to /d/s while /d is swapped with a
 *                                           link to HOSTDIR (which has a listener s)
 *   escape_paths api HOSTDIR SECONDS OUT    the same from a forked child towards the
 *                                           VM's own HOSTDIR/api.sock, asking for a
 *                                           snapshot written to OUT
 *   escape_paths abstract NAME              connect to the host's abstract socket NAME;
 *                                           an abstract socket of our own still works
 *   escape_paths missing HOSTFILE HOSTDIR   names that exist only in tern's host cwd,
 *                                           links (made here) to HOSTFILE and HOSTDIR
 *   escape_paths bindrace SECONDS           open /b/d/sentinel-bind for writing while
 *                                           /b/d is swapped with the link /b/l -> ..
 *   escape_paths cwd                        print "ready", then wait for stdin to close
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *err(int r)
{
	return r == 0 ? "0" : strerrorname_np(errno);
}

static atomic_int stop;
static const char *swap_a, *swap_b;

/* Exchanges swap_a and swap_b (a directory and a link) again and again. */
static void *swapper(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		renameat2(AT_FDCWD, swap_a, AT_FDCWD, swap_b, RENAME_EXCHANGE);
	return NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Starts swapping /d (a directory) with /l (a link to `target`). */
static pthread_t start_swap(const char *target)
{
	mkdir("/d", 0755);
	unlink("/l");
	symlink(target, "/l");
	swap_a = "/d";
	swap_b = "/l";
	pthread_t th;
	pthread_create(&th, NULL, swapper, NULL);
	return th;
}

/* Connects a new stream socket to `path`; the descriptor, or -1. */
static int connect_path(const char *path)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	strncpy(a.sun_path, path, sizeof a.sun_path - 1);
	if (connect(s, (struct sockaddr *)&a, sizeof a) == 0)
		return s;
	close(s);
	return -1;
}

/* Races connect("/d/<name>") against the swap for `seconds`; the first connected
 * descriptor, or -1. `tries` counts the attempts. */
static int race_connect(const char *hostdir, const char *name, double seconds, long *tries)
{
	char path[108];
	snprintf(path, sizeof path, "/d/%s", name);
	pthread_t th = start_swap(hostdir);
	int got = -1;
	double end = now() + seconds;
	*tries = 0;
	while (got < 0 && now() < end) {
		got = connect_path(path);
		++*tries;
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	return got;
}

/* A socket of the program's own, bound and reached by path inside the root. */
static void own_socket(void)
{
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	strcpy(a.sun_path, "/own.sock");
	int b = bind(l, (struct sockaddr *)&a, sizeof a);
	listen(l, 1);
	struct sockaddr_un got = {0};
	socklen_t glen = sizeof got;
	getsockname(l, (struct sockaddr *)&got, &glen);
	pid_t pid = fork();
	if (pid == 0) {
		chdir("/");
		_exit(connect_path("own.sock") >= 0 ? 0 : 1);
	}
	int c = accept(l, NULL, NULL);
	int status;
	waitpid(pid, &status, 0);
	printf("own socket: bind %s, name %s, child connected %d, accepted %d\n", err(b),
	       got.sun_path, WEXITSTATUS(status) == 0, c >= 0);
	close(c);
	close(l);
	unlink("/own.sock");

	/* A datagram to a socket of our own, named in sendmsg's msg_name. */
	int d = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un da = {.sun_family = AF_UNIX};
	strcpy(da.sun_path, "/own.dgram");
	bind(d, (struct sockaddr *)&da, sizeof da);
	int s2 = socket(AF_UNIX, SOCK_DGRAM, 0);
	char y = 'y';
	struct iovec iov = {.iov_base = &y, .iov_len = 1};
	struct msghdr mh = {.msg_name = &da, .msg_namelen = sizeof da, .msg_iov = &iov, .msg_iovlen = 1};
	ssize_t sent = sendmsg(s2, &mh, 0);
	char r = 0;
	recv(d, &r, 1, MSG_DONTWAIT);
	printf("own datagram: sendmsg %zd, received %c\n", sent, r ? r : '-');
	close(s2);
	close(d);
	unlink("/own.dgram");
}

static int sock_race(const char *hostdir, double seconds)
{
	own_socket();
	long tries;
	int s = race_connect(hostdir, "s", seconds, &tries);
	printf("sock race: connected %d (tries>0 %d)\n", s >= 0, tries > 0);
	return 0;
}

/* From a forked child (the parent serves the control API), reach the VM's own
 * control socket through the swap and ask for a snapshot written to `out`. */
static int api_race(const char *hostdir, double seconds, const char *out)
{
	pid_t pid = fork();
	if (pid == 0) {
		long tries;
		int s = race_connect(hostdir, "api.sock", seconds, &tries);
		if (s < 0) {
			printf("api race: connected 0\n");
			fflush(stdout);
			_exit(0);
		}
		char body[512], req[1024];
		int n = snprintf(body, sizeof body, "{\"path\":\"%s\"}", out);
		int m = snprintf(req, sizeof req,
				 "PUT /snapshot HTTP/1.1\r\nHost: localhost\r\n"
				 "Content-Type: application/json\r\nContent-Length: %d\r\n"
				 "Connection: close\r\n\r\n%s",
				 n, body);
		write(s, req, m);
		char answer[256] = {0};
		read(s, answer, sizeof answer - 1);
		printf("api race: connected 1, answer %.12s\n", answer);
		fflush(stdout);
		_exit(0);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return 0;
}

static int abstract(const char *name)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	size_t n = strlen(name);
	memcpy(a.sun_path + 1, name, n);
	socklen_t len = offsetof(struct sockaddr_un, sun_path) + 1 + n;
	int r = connect(s, (struct sockaddr *)&a, len);
	printf("abstract host: %s\n", err(r));
	close(s);

	/* An abstract socket of the program's own, reached from a forked child. */
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un own = {.sun_family = AF_UNIX};
	const char *mine = "escape-paths-own";
	memcpy(own.sun_path + 1, mine, strlen(mine));
	socklen_t olen = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(mine);
	int b = bind(l, (struct sockaddr *)&own, olen);
	listen(l, 1);
	struct sockaddr_un got = {0};
	socklen_t glen = sizeof got;
	getsockname(l, (struct sockaddr *)&got, &glen);
	printf("abstract own bind: %s, name %s\n", err(b),
	       glen == olen && memcmp(got.sun_path + 1, mine, strlen(mine)) == 0 ? "same" : "other");
	pid_t pid = fork();
	if (pid == 0) {
		int c = socket(AF_UNIX, SOCK_STREAM, 0);
		int r = connect(c, (struct sockaddr *)&own, olen);
		write(c, "x", 1);
		_exit(r == 0 ? 0 : 1);
	}
	int c = accept(l, NULL, NULL);
	char x = 0;
	read(c, &x, 1);
	int status;
	waitpid(pid, &status, 0);
	printf("abstract own: child connected %d, read %c\n", WEXITSTATUS(status) == 0, x);
	return 0;
}

static int missing(const char *hostfile, const char *hostdir)
{
	struct statfs sfs;
	struct stat st;
	/* sentinel-* exist in tern's host working directory, not in the root. */
	printf("truncate missing: %s\n", err(truncate("sentinel-trunc", 0)));
	printf("statfs missing: %s\n", err(statfs("sentinel-trunc", &sfs)));
	char *argv[] = {"sentinel-exec", NULL};
	execve("sentinel-exec", argv, environ);
	printf("execve missing: %s\n", strerrorname_np(errno));
	printf("chdir missing: %s\n", err(chdir("sentinel-dir")));
	char cwd[256] = "?";
	getcwd(cwd, sizeof cwd);
	printf("cwd: %s\n", cwd);

	/* Links whose targets exist only on the host. */
	symlink(hostfile, "/hostlink");
	printf("stat via link: %s\n", err(stat("/hostlink", &st)));
	printf("access via link: %s\n", err(access("/hostlink", F_OK)));
	printf("chmod via link: %s\n", err(chmod("/hostlink", 0600)));
	struct timeval tv[2] = {{1000000000, 0}, {1000000000, 0}};
	printf("utimes via link: %s\n", err(utimes("/hostlink", tv)));
	printf("truncate via link: %s\n", err(truncate("/hostlink", 0)));
	printf("statfs via link: %s\n", err(statfs("/hostlink", &sfs)));
	execve("/hostlink", argv, environ);
	printf("execve via link: %s\n", strerrorname_np(errno));

	/* A directory descriptor whose path is then taken by a link to a host
	 * directory (existing, then missing): fchdir goes to the directory itself. */
	const char *targets[] = {hostdir, "/no/such/host/dir"};
	for (int i = 0; i < 2; i++) {
		mkdir("/fd-dir", 0755);
		int fd = open("/fd-dir", O_DIRECTORY | O_RDONLY);
		rename("/fd-dir", "/fd-dir-moved");
		symlink(targets[i], "/fd-dir");
		int r = fchdir(fd);
		getcwd(cwd, sizeof cwd);
		printf("fchdir replaced dir: %s %s\n", err(r), cwd);
		chdir("/");
		close(fd);
		unlink("/fd-dir");
		rmdir("/fd-dir-moved");
	}
	return 0;
}

/* Opens /b/d/sentinel-bind for writing while /b/d (a directory in the bind) is
 * swapped with /b/l -> "..": followed on the host, that is the bind's parent. */
static int bind_race(double seconds)
{
	mkdir("/b/d", 0755);
	unlink("/b/l");
	symlink("..", "/b/l");
	swap_a = "/b/d";
	swap_b = "/b/l";
	pthread_t th;
	pthread_create(&th, NULL, swapper, NULL);
	long opened = 0, tries = 0;
	double end = now() + seconds;
	while (now() < end) {
		int fd = open("/b/d/sentinel-bind", O_WRONLY);
		tries++;
		if (fd >= 0) {
			write(fd, "ESCAPED\n", 8);
			close(fd);
			opened++;
		}
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	printf("bind race: opened %ld (tries>0 %d)\n", opened, tries > 0);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && strcmp(argv[1], "sock") == 0)
		return sock_race(argv[2], atof(argv[3]));
	if (argc == 5 && strcmp(argv[1], "api") == 0)
		return api_race(argv[2], atof(argv[3]), argv[4]);
	if (argc == 3 && strcmp(argv[1], "abstract") == 0)
		return abstract(argv[2]);
	if (argc == 4 && strcmp(argv[1], "missing") == 0)
		return missing(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "bindrace") == 0)
		return bind_race(atof(argv[2]));
	if (argc == 2 && strcmp(argv[1], "cwd") == 0) {
		printf("ready\n");
		char c;
		while (read(0, &c, 1) > 0)
			;
		return 0;
	}
	fprintf(stderr, "usage: see the comment at the top of escape_paths.c\n");
	return 2;
}
