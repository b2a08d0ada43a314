/* Tries to leave the root directory it runs in; prints what each attempt saw. Under
 * `tern exec --root DIR` every attempt must stay inside DIR. */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void try_open(const char *what, const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("%s: errno %s\n", what, strerrorname_np(errno));
		return;
	}
	char buf[128] = {0};
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	printf("%s: read \"%s\"\n", what, buf);
	close(fd);
}

static atomic_int stop;

/* Swaps the directory /swap with the symbolic link /swap-link -> .. again and again. */
static void *swapper(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		renameat2(AT_FDCWD, "/swap", AT_FDCWD, "/swap-link", RENAME_EXCHANGE);
	return NULL;
}

/* Opens /swap/marker-outside while another thread swaps /swap for a link to "..":
 * a confinement that checks paths and then opens them would sometimes be fooled. */
static int race(int n)
{
	mkdir("/swap", 0755);
	int fd = open("/swap/marker-outside", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	write(fd, "decoy\n", 6);
	close(fd);
	symlink("..", "/swap-link");
	pthread_t th;
	pthread_create(&th, NULL, swapper, NULL);
	int decoy = 0, outside = 0, missing = 0;
	for (int i = 0; i < n; i++) {
		fd = open("/swap/marker-outside", O_RDONLY);
		if (fd < 0) {
			missing++;
			continue;
		}
		char buf[16] = {0};
		read(fd, buf, sizeof buf - 1);
		close(fd);
		if (strncmp(buf, "OUTSIDE", 7) == 0)
			outside++;
		else
			decoy++;
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	printf("race: outside %d, inside %d\n", outside, decoy + missing > 0);
	return outside != 0;
}

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "race") == 0)
		return race(atoi(argv[2]));
	try_open("inside", "/marker");
	try_open("dotdot", "/../../../../marker-outside");
	try_open("relative dotdot", "../../../../../../marker-outside");
	try_open("absolute symlink", "/abs-link/marker-outside");
	try_open("relative symlink", "/rel-link/marker-outside");
	try_open("proc root", "/proc/self/root/marker-outside");
	try_open("host passwd", "/etc/passwd");
	chdir("/");
	chdir("..");
	char cwd[256];
	printf("cwd after chdir ..: %s\n", getcwd(cwd, sizeof cwd));
	try_open("after chdir", "marker");
	int d = open("/", O_DIRECTORY);
	int fd = openat(d, "../marker", O_RDONLY);
	printf("openat dirfd ..: %s\n", fd >= 0 ? "inside" : strerrorname_np(errno));
	char link[256] = {0};
	ssize_t n = readlink("/abs-link", link, sizeof link - 1);
	printf("readlink abs-link: %zd %s\n", n, link);
	printf("symlink escape create: %d\n", symlink("/", "/made-link"));
	try_open("made link", "/made-link/marker-outside");
	struct stat st;
	printf("stat outside via ..: %s\n", stat("/../marker-outside", &st) == 0 ? "found" : strerrorname_np(errno));
	DIR *dir = opendir("/..");
	int entries = 0, saw_outside = 0;
	struct dirent *e;
	while (dir && (e = readdir(dir))) {
		entries++;
		if (strcmp(e->d_name, "marker-outside") == 0)
			saw_outside = 1;
	}
	printf("listing /..: outside visible=%d\n", saw_outside);
	return 0;
}
