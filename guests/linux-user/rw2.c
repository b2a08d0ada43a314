/* preadv2 / pwritev2: at an offset, at the file position (offset -1), with
 * RWF_HIPRI, RWF_DSYNC and RWF_SYNC, and their errors (bad offset, bad descriptor,
 * unknown flags). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define SHOW(label, call)                                                             \
    do {                                                                              \
        errno = 0;                                                                    \
        long r_ = (call);                                                             \
        printf("%s: %ld %s\n", label, r_, r_ < 0 ? strerror(errno) : "ok");           \
    } while (0)

int main(void) {
    char name[] = "/tmp/tern-rw2-XXXXXX";
    int fd = mkstemp(name);
    char a[] = "hello ", b[] = "world";
    struct iovec w[2] = {{a, 6}, {b, 5}};
    SHOW("pwritev2 at 0", pwritev2(fd, w, 2, 0, 0));
    SHOW("pwritev2 at 100 DSYNC", pwritev2(fd, w, 2, 100, RWF_DSYNC));
    SHOW("pwritev2 at -1 SYNC", pwritev2(fd, w, 2, -1, RWF_SYNC));
    printf("position after: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    char x[6] = {0}, y[6] = {0};
    struct iovec r[2] = {{x, 5}, {y, 5}};
    SHOW("preadv2 at 101 HIPRI", preadv2(fd, r, 2, 101, RWF_HIPRI));
    printf("read: \"%s\" \"%s\"\n", x, y);
    lseek(fd, 6, SEEK_SET);
    memset(x, 0, sizeof x);
    SHOW("preadv2 at -1", preadv2(fd, r, 1, -1, 0));
    printf("read: \"%s\", position %ld\n", x, (long)lseek(fd, 0, SEEK_CUR));
    SHOW("preadv2 offset -2", preadv2(fd, r, 1, -2, 0));
    SHOW("preadv2 bad descriptor", preadv2(-1, r, 1, 0, 0));
    SHOW("preadv2 unknown flag", preadv2(fd, r, 1, 0, 0x1000));
    SHOW("pwritev2 unknown flag", pwritev2(fd, w, 1, 0, 0x1000));
    int p[2];
    pipe(p);
    SHOW("pwritev2 pipe -1 DSYNC", pwritev2(p[1], w, 2, -1, RWF_DSYNC));
    SHOW("preadv2 pipe -1", preadv2(p[0], r, 2, -1, 0));
    unlink(name);
    return 0;
}
