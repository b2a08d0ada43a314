/* The process VM golden program: two worker threads sum a mixing function over
 * halves of a range while the main thread holds a handler for SIGUSR1, a blocked
 * pending SIGUSR2, a heap buffer and an anonymous mapping with data in them. It
 * prints "golden-process: ready" (where the golden snapshot is taken, with the
 * workers mid-way) and, once the workers are done, checks everything and prints
 * "golden-process: ok" (exit status 0). The result does not depend on where the
 * snapshot interrupts the workers.
 *
 *   tern exec --memory 32 golden-static          (linked -static)
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ROUNDS 60000000ULL
/* The sum over the whole range (computed on the host with the same code). */
#define EXPECTED 0x558a6273191ff488ULL

static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ULL;
    x ^= x >> 27;
    x *= 0x81dadef4bc2dd44dULL;
    return x ^ (x >> 33);
}

static uint64_t part[2];
static volatile sig_atomic_t usr1;

static void on_usr1(int sig)
{
    (void)sig;
    usr1++;
}

static void *worker(void *arg)
{
    long id = (long)arg;
    uint64_t sum = 0;
    for (uint64_t i = id; i < ROUNDS; i += 2)
        sum += mix(i);
    part[id] = sum;
    return NULL;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    sigprocmask(SIG_BLOCK, &block, NULL);
    raise(SIGUSR2); /* stays pending while blocked */

    char *heap = malloc(100000);
    for (int i = 0; i < 100000; i++)
        heap[i] = (char)(i * 7);
    unsigned char *map = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return 2;
    for (int i = 0; i < 1 << 16; i++)
        map[i] = (unsigned char)(i ^ 0x5a);

    pthread_t t[2];
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    printf("golden-process: ready\n");
    fflush(stdout);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);

    uint64_t sum = part[0] + part[1];
    printf("golden-process: sum %016llx\n", (unsigned long long)sum);
    if (sum != EXPECTED) {
        printf("golden-process: FAIL checksum\n");
        return 3;
    }
    for (int i = 0; i < 100000; i++)
        if (heap[i] != (char)(i * 7)) {
            printf("golden-process: FAIL heap\n");
            return 4;
        }
    for (int i = 0; i < 1 << 16; i++)
        if (map[i] != (unsigned char)(i ^ 0x5a)) {
            printf("golden-process: FAIL mapping\n");
            return 5;
        }
    sigset_t pending;
    sigpending(&pending);
    if (!sigismember(&pending, SIGUSR2)) {
        printf("golden-process: FAIL pending SIGUSR2 lost\n");
        return 6;
    }
    raise(SIGUSR1);
    if (usr1 != 1) {
        printf("golden-process: FAIL SIGUSR1 handler lost\n");
        return 7;
    }
    printf("golden-process: ok\n");
    return 0;
}
