/* Memory of a restored process, read lazily from its snapshot. Fills 16 MiB with a
 * pattern, prints "lazymem: ready", waits (polling every 10 ms) until the file named
 * by argv[1] exists, then reads the memory back and prints how many words differ.
 * The test snapshots it while it waits, restores it, changes the snapshot file
 * under the restored process, and only then creates the file: the first touch of
 * the filled pages happens after the change. With "fork" as argv[2], a forked child
 * checks the memory first ("lazymem: child: N words differ"), then the parent.
 * Exit status 0 when nothing differs. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SIZE (16u << 20)

static unsigned long pattern(unsigned long i) {
    return i * 0x9e3779b97f4a7c15UL + 1;
}

static unsigned long differing(const unsigned long *buf, unsigned long n) {
    unsigned long bad = 0;
    for (unsigned long i = 0; i < n; i++)
        bad += buf[i] != pattern(i);
    return bad;
}

int main(int argc, char **argv) {
    if (argc < 2 || (argc == 3 && strcmp(argv[2], "fork") != 0) || argc > 3) {
        fprintf(stderr, "usage: lazymem GO-FILE [fork]\n");
        return 2;
    }
    unsigned long *buf =
        mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) {
        perror("mmap");
        return 2;
    }
    unsigned long n = SIZE / sizeof *buf;
    for (unsigned long i = 0; i < n; i++)
        buf[i] = pattern(i);
    printf("lazymem: ready\n");
    fflush(stdout);
    struct timespec tick = {0, 10 * 1000 * 1000};
    while (access(argv[1], F_OK) != 0)
        nanosleep(&tick, NULL);
    if (argc == 3) {
        pid_t child = fork();
        if (child == 0) {
            printf("lazymem: child: %lu words differ\n", differing(buf, n));
            fflush(stdout);
            _exit(0);
        }
        int status;
        if (child < 0 || waitpid(child, &status, 0) != child || status != 0) {
            printf("lazymem: the child failed\n");
            return 1;
        }
    }
    unsigned long bad = differing(buf, n);
    printf("lazymem: %lu words differ\n", bad);
    return bad != 0;
}
