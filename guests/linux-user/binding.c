/* Resource binding across a move (tern migrate --bind): holds three files open and
 * writes to two of them before and after it moves, then prints what each holds as
 * the destination sees it. With /data/cp.txt copied (cp), /data/mv.txt moved (mv)
 * and /etc/node.txt rebound (rb, the default), the destination's node.txt is read,
 * and the two data files hold both lines.
 *
 * It waits for SIGUSR1 between the two halves (the test sends it once the program
 * moved).  usage: binding   exit status 0
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t go;

static void on_usr1(int sig) {
    (void)sig;
    go = 1;
}

/* Prints `label: ` and the whole file behind fd. */
static void show(const char *label, int fd) {
    char buf[256];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n < 0 ? 0 : n] = 0;
    printf("%s: %s", label, buf);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int cp = open("/data/cp.txt", O_RDWR);
    int mv = open("/data/mv.txt", O_RDWR | O_APPEND);
    int node = open("/etc/node.txt", O_RDONLY);
    if (cp < 0 || mv < 0 || node < 0) {
        perror("open");
        return 1;
    }
    write(cp, "cp-before\n", 10);
    write(mv, "mv-before\n", 10);
    show("node", node);
    signal(SIGUSR1, on_usr1);
    printf("ready\n");
    while (!go)
        pause();
    write(cp, "cp-after\n", 9);
    write(mv, "mv-after\n", 9);
    show("node", node);
    show("cp", cp);
    show("mv", mv);
    return 0;
}
