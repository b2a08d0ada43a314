/* An interval timer across a snapshot: SIGALRM every 20 ms (setitimer), a line per
 * tick until 30 ticks, while the main thread computes. A restored process must keep
 * the timer armed and the handler installed.  Exit status 5. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t ticks;

static void tick(int sig) {
    (void)sig;
    ticks++;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = tick;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 20000}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, NULL);
    int seen = 0;
    unsigned long x = 1;
    while (seen < 30) {
        x = x * 6364136223846793005UL + 1442695040888963407UL;
        if (ticks > seen) {
            seen++;
            printf("tick %d\n", seen);
            fflush(stdout);
        }
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    printf("done %d\n", x != 0);
    return 5;
}
