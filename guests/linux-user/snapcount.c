/* A multi-threaded program for process VM snapshot tests: 4 threads contend for a
 * mutex to draw numbers from a shared counter, each round ends at a barrier, and the
 * main thread prints a progress line (stdout) and appends it to a file. Every
 * counter value is drawn exactly once, so the checksum (a sum of a mix of the values)
 * is the same whatever the interleaving: the output is deterministic.
 *
 * usage: snapcount FILE ROUNDS PER_ROUND [socket]   (exit status 7)
 * With "socket", a TCP socket is held open (its descriptor is printed first): a
 * snapshot must refuse it.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define THREADS 4

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t start_round, end_round;
static uint64_t counter, checksum;
static long rounds, per_round;
static uint64_t work[THREADS];

static uint64_t mix(uint64_t x) {
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ULL;
    x ^= x >> 27;
    x *= 0x81dadef4bc2dd44dULL;
    return x ^ (x >> 33);
}

static void *worker(void *arg) {
    long id = (long)arg;
    for (long r = 0; r < rounds; r++) {
        pthread_barrier_wait(&start_round);
        for (long i = 0; i < per_round; i++) {
            pthread_mutex_lock(&lock);
            uint64_t v = ++counter;
            checksum += mix(v);
            pthread_mutex_unlock(&lock);
            /* Some private work between draws, and now and then a sleep, so that
             * threads are caught in every state: running, waiting, sleeping. */
            uint64_t w = v;
            for (int k = 0; k < 200; k++)
                w = mix(w);
            work[id] += w & 1;
            if (i % 64 == 0) {
                struct timespec ts = {0, 200000};
                nanosleep(&ts, NULL);
            }
        }
        pthread_barrier_wait(&end_round);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: snapcount FILE ROUNDS PER_ROUND [socket]\n");
        return 2;
    }
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) {
        perror(argv[1]);
        return 2;
    }
    if (argc == 5) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0) {
            perror("socket");
            return 2;
        }
        printf("socket %d\n", s);
        fflush(stdout);
    }
    /* Work from FILE's directory, and find FILE there by its relative name every
     * round: the working directory must survive a restore. */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", argv[1]);
    char *slash = strrchr(dir, '/');
    const char *base = argv[1];
    if (slash) {
        *slash = 0;
        base = slash + 1;
        if (chdir(dir[0] ? dir : "/") != 0) {
            perror(dir);
            return 2;
        }
    }
    rounds = atol(argv[2]);
    per_round = atol(argv[3]);
    pthread_barrier_init(&start_round, NULL, THREADS + 1);
    pthread_barrier_init(&end_round, NULL, THREADS + 1);
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (long r = 0; r < rounds; r++) {
        pthread_barrier_wait(&start_round);
        pthread_barrier_wait(&end_round);
        char line[128];
        int n = snprintf(line, sizeof line, "round %ld counter %llu checksum %016llx\n", r,
                         (unsigned long long)counter, (unsigned long long)checksum);
        fputs(line, stdout);
        fflush(stdout);
        if (write(fd, line, n) != n) {
            perror("write");
            return 2;
        }
        if (access(base, W_OK) != 0)
            printf("round %ld: %s is not in the working directory\n", r, base);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    uint64_t total = 0;
    for (int i = 0; i < THREADS; i++)
        total += work[i];
    printf("done counter %llu checksum %016llx\n", (unsigned long long)counter,
           (unsigned long long)checksum);
    close(fd);
    return total > 0 ? 7 : 3;
}
