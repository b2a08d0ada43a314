/* inotify (events on a directory, watches and their errors) and extended
 * attributes (user.* set/get/list/remove through paths, links and descriptors,
 * and the errno of bad names, sizes and flags). Output is deterministic. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

static void res(const char *what, long r)
{
	if (r < 0)
		printf("%s: -1 %s\n", what, strerrorname_np(errno));
	else
		printf("%s: %ld\n", what, r);
}

static const char *mask_name(unsigned m)
{
	static char b[128];
	b[0] = 0;
	static const struct { unsigned bit; const char *n; } names[] = {
		{ IN_ACCESS, "ACCESS" }, { IN_MODIFY, "MODIFY" }, { IN_ATTRIB, "ATTRIB" },
		{ IN_CLOSE_WRITE, "CLOSE_WRITE" }, { IN_CLOSE_NOWRITE, "CLOSE_NOWRITE" },
		{ IN_OPEN, "OPEN" }, { IN_MOVED_FROM, "MOVED_FROM" }, { IN_MOVED_TO, "MOVED_TO" },
		{ IN_CREATE, "CREATE" }, { IN_DELETE, "DELETE" }, { IN_DELETE_SELF, "DELETE_SELF" },
		{ IN_IGNORED, "IGNORED" }, { IN_ISDIR, "ISDIR" },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (m & names[i].bit) {
			if (b[0])
				strcat(b, "|");
			strcat(b, names[i].n);
		}
	return b;
}

static void drain(int fd, int wd)
{
	char buf[4096] __attribute__((aligned(8)));
	ssize_t n = read(fd, buf, sizeof buf);
	if (n < 0) {
		printf("  read: -1 %s\n", strerrorname_np(errno));
		return;
	}
	for (char *p = buf; p < buf + n;) {
		struct inotify_event *e = (struct inotify_event *)p;
		printf("  event wd-ok %d %s name \"%s\"\n", e->wd == wd, mask_name(e->mask),
		       e->len ? e->name : "");
		p += sizeof *e + e->len;
	}
}

static void inotify(const char *dir)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	printf("inotify_init1: %s\n", fd >= 0 ? "ok" : strerrorname_np(errno));
	int wd = inotify_add_watch(fd, dir, IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO);
	printf("add_watch dir: %s\n", wd >= 0 ? "ok" : strerrorname_np(errno));
	res("read empty", read(fd, (char[4096]){0}, 4096));
	char path[256], path2[256], link[256];
	snprintf(path, sizeof path, "%s/a", dir);
	snprintf(path2, sizeof path2, "%s/b", dir);
	snprintf(link, sizeof link, "%s/l", dir);
	int f = open(path, O_CREAT | O_WRONLY, 0644);
	write(f, "x", 1);
	close(f);
	rename(path, path2);
	unlink(path2);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	printf("poll: %d\n", poll(&p, 1, 1000));
	drain(fd, wd);
	res("same watch with IN_MASK_CREATE", inotify_add_watch(fd, dir, IN_CREATE | IN_MASK_CREATE));
	res("same watch again", inotify_add_watch(fd, dir, IN_CREATE) == wd ? 0 : -1);
	f = open(path, O_CREAT | O_WRONLY, 0644);
	close(f);
	symlink("a", link);
	drain(fd, wd);
	int wf = inotify_add_watch(fd, link, IN_ATTRIB | IN_DELETE_SELF);
	printf("watch through link: %s\n", wf >= 0 ? "ok" : strerrorname_np(errno));
	chmod(path, 0600);
	drain(fd, wf);
	int wl = inotify_add_watch(fd, link, IN_ATTRIB | IN_DONT_FOLLOW);
	printf("watch of the link itself: %s, other wd %d\n", wl >= 0 ? "ok" : strerrorname_np(errno), wl != wf);
	res("IN_ONLYDIR on a file", inotify_add_watch(fd, path, IN_ATTRIB | IN_ONLYDIR));
	res("rm_watch", inotify_rm_watch(fd, wf));
	drain(fd, wf);
	res("rm_watch again", inotify_rm_watch(fd, wf));
	unlink(link);
	unlink(path);

	res("init1 bad flags", inotify_init1(1));
	res("mask 0", inotify_add_watch(fd, dir, 0));
	res("MASK_ADD|MASK_CREATE", inotify_add_watch(fd, dir, IN_CREATE | IN_MASK_ADD | IN_MASK_CREATE));
	res("bad fd", inotify_add_watch(999, dir, IN_CREATE));
	int pp[2];
	pipe(pp);
	res("not inotify", inotify_add_watch(pp[0], dir, IN_CREATE));
	res("rm_watch not inotify", inotify_rm_watch(pp[0], 1));
	close(pp[0]);
	close(pp[1]);
	res("missing path", inotify_add_watch(fd, "/nonexistent/x", IN_CREATE));
	res("bad path pointer", syscall(SYS_inotify_add_watch, fd, (void *)8, IN_CREATE));
	close(fd);
}

static void xattrs(const char *dir)
{
	char path[256], link[256];
	snprintf(path, sizeof path, "%s/x", dir);
	snprintf(link, sizeof link, "%s/xl", dir);
	int fd = open(path, O_CREAT | O_RDWR, 0644);
	symlink("x", link);
	if (setxattr(path, "user.tern", "hello", 5, 0) != 0) {
		printf("setxattr: -1 %s (no user xattrs here)\n", strerrorname_np(errno));
		goto out;
	}
	printf("setxattr: 0\n");
	char buf[256];
	res("getxattr size 0", getxattr(path, "user.tern", NULL, 0));
	long n = getxattr(path, "user.tern", buf, sizeof buf);
	printf("getxattr: %ld \"%.*s\"\n", n, (int)(n > 0 ? n : 0), buf);
	res("getxattr small", getxattr(path, "user.tern", buf, 2));
	res("getxattr through link", getxattr(link, "user.tern", buf, sizeof buf));
	res("lgetxattr of the link", lgetxattr(link, "user.tern", buf, sizeof buf));
	res("lsetxattr user on a link", lsetxattr(link, "user.tern", "x", 1, 0));
	res("create existing", setxattr(path, "user.tern", "x", 1, XATTR_CREATE));
	res("replace missing", setxattr(path, "user.none", "x", 1, XATTR_REPLACE));
	res("fsetxattr", fsetxattr(fd, "user.two", "22", 2, XATTR_CREATE));
	res("fgetxattr", fgetxattr(fd, "user.two", buf, sizeof buf));
	res("empty value", setxattr(path, "user.empty", "", 0, 0));
	res("get empty", getxattr(path, "user.empty", buf, sizeof buf));
	n = listxattr(path, buf, sizeof buf);
	printf("listxattr:");
	for (char *p = buf; n > 0 && p < buf + n; p += strlen(p) + 1)
		if (strncmp(p, "user.", 5) == 0)
			printf(" %s", p);
	printf("\n");
	res("listxattr small", listxattr(path, buf, 3));
	res("flistxattr size 0 >= 24", flistxattr(fd, NULL, 0) >= 24 ? 0 : -1);
	res("removexattr", removexattr(path, "user.tern"));
	res("removexattr again", removexattr(path, "user.tern"));
	res("fremovexattr", fremovexattr(fd, "user.two"));
	res("lremovexattr through link dir", lremovexattr(path, "user.empty"));

	char longname[300];
	memset(longname, 'a', sizeof longname);
	memcpy(longname, "user.", 5);
	longname[260] = 0;
	res("empty name", setxattr(path, "", "x", 1, 0));
	res("long name", setxattr(path, longname, "x", 1, 0));
	res("long name get", getxattr(path, longname, buf, sizeof buf));
	res("bad flags", setxattr(path, "user.a", "x", 1, 4));
	res("unknown namespace", setxattr(path, "foo.bar", "x", 1, 0));
	static char big[70000];
	res("too large", syscall(SYS_setxattr, path, "user.big", big, sizeof big, 0));
	res("bad fd", fgetxattr(999, "user.a", buf, sizeof buf));
	res("missing file", getxattr("/nonexistent/x", "user.a", buf, sizeof buf));
	res("bad value pointer", syscall(SYS_setxattr, path, "user.a", (void *)8, 4, 0));
out:
	close(fd);
	unlink(link);
	unlink(path);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	char dir[] = "/tmp/tern-notify-XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	printf("== inotify\n");
	inotify(dir);
	printf("== xattr\n");
	xattrs(dir);
	printf("rmdir: %d\n", rmdir(dir));
	return 0;
}
