/* Disk writes for the node manager's disk-limit test (crates/tern/tests/node_disk.rs).
 *
 * usage: disk_write FILE MIB   write MIB MiB to FILE in 64 KiB blocks with O_DSYNC
 *                              (so each block goes to the disk from this process,
 *                              where cgroup I/O limits count it, rather than from the
 *                              kernel's writeback later), then print
 *                              "wrote N MiB in S s: R KiB/s"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLOCK (64 * 1024)

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: disk_write FILE MIB\n");
        return 2;
    }
    long mib = atol(argv[2]);
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_DSYNC, 0600);
    if (fd < 0) {
        printf("open: %s\n", strerror(errno));
        return 1;
    }
    void *buf;
    if (posix_memalign(&buf, 4096, BLOCK) != 0)
        return 1;
    memset(buf, 0x5a, BLOCK);
    double start = now();
    for (long i = 0; i < mib * (1024 * 1024 / BLOCK); i++) {
        if (write(fd, buf, BLOCK) != BLOCK) {
            printf("write: %s\n", strerror(errno));
            return 1;
        }
    }
    double s = now() - start;
    close(fd);
    printf("wrote %ld MiB in %.2f s: %.0f KiB/s\n", mib, s, mib * 1024 / s);
    return 0;
}
