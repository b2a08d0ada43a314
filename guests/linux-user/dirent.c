/* Directories: a tree created, listed with readdir (sorted), walked with nftw. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *names[4096];
static int count;
static size_t base_len;

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	char line[4200];
	snprintf(line, sizeof line, "%s %s", type == FTW_D ? "d" : type == FTW_SL ? "l" : "f",
		 strlen(path) > base_len ? path + base_len : ".");
	names[count++] = strdup(line);
	return 0;
}

static int rm(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

int main(void)
{
	char dir[] = "/tmp/tern-dirent-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	base_len = strlen(dir);
	char p[4200];
	for (int i = 0; i < 5; i++) {
		snprintf(p, sizeof p, "%s/d%d", dir, i);
		mkdir(p, 0755);
		for (int j = 0; j < 40; j++) {
			snprintf(p, sizeof p, "%s/d%d/file-with-a-longer-name-%03d", dir, i, j);
			int fd = open(p, O_CREAT | O_WRONLY, 0644);
			write(fd, p, j);
			close(fd);
		}
	}
	snprintf(p, sizeof p, "%s/link", dir);
	symlink("d0", p);

	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	char *top[64];
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			top[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(top, n, sizeof top[0], cmp);
	for (int i = 0; i < n; i++)
		printf("top: %s\n", top[i]);

	snprintf(p, sizeof p, "%s/d3", dir);
	d = opendir(p);
	int files = 0, types_ok = 1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		files++;
		if (e->d_type != DT_REG)
			types_ok = 0;
	}
	printf("d3 entries: %d, all regular: %d\n", files, types_ok);
	rewinddir(d);
	int again = 0;
	while ((e = readdir(d)))
		again++;
	printf("after rewind: %d\n", again);
	closedir(d);

	nftw(dir, visit, 16, FTW_PHYS);
	qsort(names, count, sizeof names[0], cmp);
	for (int i = 0; i < count; i += 17)
		printf("walk: %s\n", names[i]);
	printf("walk total: %d\n", count);

	printf("remove tree: %d\n", nftw(dir, rm, 16, FTW_DEPTH | FTW_PHYS));
	printf("gone: %d\n", access(dir, F_OK) != 0);
	return 0;
}
