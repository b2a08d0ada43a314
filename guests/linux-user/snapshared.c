/* A program for snapshot tests of shared mappings: a MAP_SHARED file and shared
 * anonymous memory are written round by round; each round prints sums read through
 * the mappings and through read(2), so a restore that lost either region, or the
 * coherence of the file mapping with the file, shows in the output.
 *
 * usage: snapshared FILE ROUNDS   (exit status 0) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    setvbuf(stdout, NULL, _IONBF, 0);
    int rounds = atoi(argv[2]);
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
    ftruncate(fd, 4 * 4096);
    unsigned *file = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    unsigned *anon = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (file == MAP_FAILED || anon == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    for (int r = 0; r < rounds; r++) {
        anon[r * 1000 % (8 * 1024)] = r * 7 + 1;
        file[r * 300 % (4 * 1024)] = r * 11 + 1;
        unsigned sa = 0, sf = 0, sr = 0;
        for (int i = 0; i < 8 * 1024; i++)
            sa += anon[i];
        for (int i = 0; i < 4 * 1024; i++)
            sf += file[i];
        unsigned buf[1024];
        for (int p = 0; p < 4; p++) {
            pread(fd, buf, sizeof buf, p * 4096);
            for (int i = 0; i < 1024; i++)
                sr += buf[i];
        }
        printf("round %d anon %u file %u read %u\n", r, sa, sf, sr);
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    printf("done\n");
    return 0;
}
