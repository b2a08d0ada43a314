/* The program the gdb tests debug (crates/tern/tests/gdb.rs), built with -g -O0.
 *
 * A worker thread bumps `counter` by 10 three times through bump(); then main bumps
 * it by 1 `rounds` times (argv[1], default 5), sleeping argv[2] ms between rounds
 * (default 0, so that a snapshot can be taken mid-run), and prints
 * "counter N scale S" with S = 1.5 * N.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

volatile long counter;
double scale = 1.5;

__attribute__((noinline)) long bump(long by)
{
    counter += by;
    return counter;
}

static void *worker(void *arg)
{
    for (int i = 0; i < 3; i++)
        bump(10);
    return arg;
}

static void pause_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
    nanosleep(&ts, 0);
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 5;
    long ms = argc > 2 ? atol(argv[2]) : 0;
    pthread_t t;
    pthread_create(&t, 0, worker, 0);
    pthread_join(t, 0);
    for (long i = 0; i < rounds; i++) {
        bump(1);
        if (ms)
            pause_ms(ms);
    }
    printf("counter %ld scale %.1f\n", counter, scale * counter);
    return 0;
}
