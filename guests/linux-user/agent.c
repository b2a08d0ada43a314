/* A mobile agent for the process-mobility tests: it visits the hosts named on its
 * command line in turn, moving itself with tern's jump call (tern exec --agent; each
 * destination a tern receive --agent). What it carries: a heap buffer it keeps
 * checksumming, a pipe holding bytes it wrote before a jump and reads after it, and
 * a file it appends a line to on every host (bound by path). A jump that fails
 * returns an error and the agent goes on where it is.
 *
 * usage: agent FILE HOP...   (HOP: tcp:HOST:PORT)   exit status 0
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TERN_JUMP 0x5445524e
#define WORDS (1 << 18) /* 2 MiB of state */

static uint64_t *state;

static uint64_t work(int leg) {
    uint64_t sum = 0;
    for (int round = 0; round < 4; round++)
        for (long i = 0; i < WORDS; i++) {
            state[i] = state[i] * 6364136223846793005ull + (uint64_t)leg + 1442695040888963407ull;
            sum ^= state[i] >> 7;
        }
    return sum;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: agent FILE HOP...\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    state = calloc(WORDS, sizeof *state);
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    int p[2];
    if (!state || fd < 0 || pipe(p) != 0) {
        perror("setup");
        return 1;
    }
    for (int leg = 0; leg + 2 <= argc; leg++) {
        uint64_t sum = work(leg);
        printf("leg %d: sum %016llx\n", leg, (unsigned long long)sum);
        dprintf(fd, "leg %d: sum %016llx\n", leg, (unsigned long long)sum);
        if (leg + 2 == argc)
            break;
        const char *to = argv[leg + 2];
        char note[32];
        int n = snprintf(note, sizeof note, "carried %d", leg);
        if (write(p[1], note, (size_t)n) != n)
            return 1;
        long r = syscall(TERN_JUMP, to);
        char got[32] = {0};
        if (read(p[0], got, (size_t)n) != n)
            return 1;
        if (r != 0)
            printf("jump to %s failed: %s (%s)\n", to, strerror(errno), got);
        else
            printf("arrived at %s (%s)\n", to, got);
    }
    printf("done\n");
    return 0;
}
