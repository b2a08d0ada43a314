/* Loads for the node manager's tests (crates/tern/tests/node_*.rs) and
 * bench/isolation.py: a guest that uses one resource of its slice without bound.
 *
 * usage: slice_load spin            CPU-bound loop forever; every 0.5 s of guest
 *                                   time prints "spin N" (iterations so far)
 *        slice_load forkbomb        fork without end (children fork too); prints
 *                                   "fork refused: ERRNO" once at the first refusal
 *                                   and keeps trying
 *        slice_load hog MIB         allocate and touch MIB MiB, 1 MiB at a time,
 *                                   printing "hog N" every 16 MiB, then sleep
 *        slice_load chatter         write 64 KiB blocks of text to stdout without end
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int spin(void) {
    volatile unsigned long x = 0;
    unsigned long n = 0;
    double next = now() + 0.5;
    for (;;) {
        for (int i = 0; i < 100000; i++)
            x = x * 6364136223846793005UL + 1442695040888963407UL;
        n++;
        if (now() >= next) {
            printf("spin %lu\n", n);
            fflush(stdout);
            next += 0.5;
        }
    }
}

static int forkbomb(void) {
    int told = 0;
    for (;;) {
        pid_t p = fork();
        if (p < 0) {
            if (!told) {
                printf("fork refused: %s\n", strerror(errno));
                fflush(stdout);
                told = 1;
            }
            usleep(10000);
        }
    }
}

static int hog(long mib) {
    for (long i = 1; i <= mib; i++) {
        char *p = malloc(1 << 20);
        if (!p) {
            printf("hog malloc failed at %ld\n", i);
            fflush(stdout);
            break;
        }
        memset(p, (int)i, 1 << 20);
        if (i % 16 == 0) {
            printf("hog %ld\n", i);
            fflush(stdout);
        }
    }
    for (;;)
        pause();
}

static int chatter(void) {
    static char block[65536];
    for (size_t i = 0; i < sizeof block; i++)
        block[i] = (i % 64 == 63) ? '\n' : 'a' + i % 26;
    for (;;)
        if (write(1, block, sizeof block) < 0)
            return 1;
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "spin"))
        return spin();
    if (argc >= 2 && !strcmp(argv[1], "forkbomb"))
        return forkbomb();
    if (argc >= 3 && !strcmp(argv[1], "hog"))
        return hog(atol(argv[2]));
    if (argc >= 2 && !strcmp(argv[1], "chatter"))
        return chatter();
    fprintf(stderr, "usage: slice_load spin | forkbomb | hog MIB | chatter\n");
    return 2;
}
