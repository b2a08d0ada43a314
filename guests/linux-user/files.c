/* Files: open, read, write, seek, stat, dup, fcntl, rename, link, readlink. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void)
{
	char dir[] = "/tmp/tern-files-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	if (chdir(dir) != 0)
		return 2;

	int fd = open("a.txt", O_CREAT | O_RDWR | O_TRUNC, 0640);
	printf("open: %d\n", fd >= 3);
	const char *msg = "0123456789abcdef";
	printf("write: %zd\n", write(fd, msg, 16));
	printf("lseek end: %ld\n", (long)lseek(fd, 0, SEEK_END));
	printf("lseek set: %ld\n", (long)lseek(fd, 4, SEEK_SET));
	char buf[64] = {0};
	printf("read: %zd %s\n", read(fd, buf, 6), buf);
	printf("pread: %zd\n", pread(fd, buf, 4, 12));
	buf[4] = 0;
	printf("pread data: %s\n", buf);
	struct iovec iov[2] = {{"vec", 3}, {"tor", 3}};
	printf("writev: %zd\n", writev(fd, iov, 2));

	struct stat st;
	fstat(fd, &st);
	printf("fstat size=%ld mode=%o regular=%d\n", (long)st.st_size, st.st_mode & 0777, S_ISREG(st.st_mode));
	stat("a.txt", &st);
	printf("stat size=%ld nlink=%ld\n", (long)st.st_size, (long)st.st_nlink);
	struct statx sx;
	statx(AT_FDCWD, "a.txt", 0, STATX_SIZE | STATX_MODE, &sx);
	printf("statx size=%llu\n", (unsigned long long)sx.stx_size);

	int d = dup(fd);
	printf("dup shares offset: %ld\n", (long)lseek(d, 0, SEEK_CUR));
	int d2 = dup2(fd, 20);
	printf("dup2: %d\n", d2);
	printf("cloexec: %d\n", fcntl(d2, F_GETFD));
	fcntl(d2, F_SETFD, FD_CLOEXEC);
	printf("cloexec set: %d\n", fcntl(d2, F_GETFD));
	int d3 = fcntl(fd, F_DUPFD_CLOEXEC, 30);
	printf("F_DUPFD_CLOEXEC >= 30: %d flags=%d\n", d3 >= 30, fcntl(d3, F_GETFD));
	printf("flags: %o\n", fcntl(fd, F_GETFL) & O_ACCMODE);
	close(d);
	close(d2);
	close(d3);

	printf("ftruncate: %d\n", ftruncate(fd, 5));
	fstat(fd, &st);
	printf("size after truncate: %ld\n", (long)st.st_size);
	close(fd);
	printf("read closed: %zd errno=%d\n", read(fd, buf, 1), errno);

	printf("link: %d\n", link("a.txt", "b.txt"));
	stat("a.txt", &st);
	printf("nlink: %ld\n", (long)st.st_nlink);
	printf("symlink: %d\n", symlink("a.txt", "c.lnk"));
	ssize_t n = readlink("c.lnk", buf, sizeof buf);
	buf[n > 0 ? n : 0] = 0;
	printf("readlink: %s\n", buf);
	lstat("c.lnk", &st);
	printf("lstat is link: %d\n", S_ISLNK(st.st_mode));
	printf("rename: %d\n", rename("b.txt", "d.txt"));
	printf("access d.txt: %d\n", access("d.txt", R_OK));
	printf("access missing: %d errno=%d\n", access("missing", F_OK), errno);
	printf("open missing: %d errno=%d\n", open("missing", O_RDONLY), errno);
	printf("open dir for write: %d errno=%d\n", open(".", O_WRONLY), errno);
	printf("mkdir: %d\n", mkdir("sub", 0755));
	printf("mkdir again: %d errno=%d\n", mkdir("sub", 0755), errno);
	int dfd = open("sub", O_DIRECTORY | O_RDONLY);
	int in = openat(dfd, "inner.txt", O_CREAT | O_WRONLY, 0600);
	write(in, "inner", 5);
	close(in);
	printf("fstatat: %d\n", fstatat(dfd, "inner.txt", &st, 0));
	printf("inner size: %ld\n", (long)st.st_size);
	printf("unlinkat: %d\n", unlinkat(dfd, "inner.txt", 0));
	close(dfd);
	printf("rmdir: %d\n", rmdir("sub"));

	char cwd[4096];
	getcwd(cwd, sizeof cwd);
	printf("getcwd matches: %d\n", strcmp(cwd, dir) == 0);
	printf("chdir ..: %d\n", chdir(".."));
	char p[4096];
	snprintf(p, sizeof p, "%s/a.txt", dir);
	FILE *f = fopen(p, "r");
	printf("fopen absolute: %d\n", f != NULL);
	fgets(buf, sizeof buf, f);
	printf("content: %s\n", buf);
	fclose(f);

	/* stdio through a big file */
	snprintf(p, sizeof p, "%s/big.txt", dir);
	f = fopen(p, "w");
	for (int i = 0; i < 100000; i++)
		fprintf(f, "line %d\n", i);
	fclose(f);
	f = fopen(p, "r");
	long lines = 0, total = 0;
	while (fgets(buf, sizeof buf, f)) {
		lines++;
		total += atoi(buf + 5);
	}
	fclose(f);
	printf("big file: %ld lines, sum %ld\n", lines, total);

	char cmd[4200];
	snprintf(cmd, sizeof cmd, "%s/a.txt", dir);
	unlink(cmd);
	snprintf(cmd, sizeof cmd, "%s/c.lnk", dir);
	unlink(cmd);
	snprintf(cmd, sizeof cmd, "%s/d.txt", dir);
	unlink(cmd);
	unlink(p);
	printf("rmdir tmp: %d\n", rmdir(dir));
	return 0;
}
