/* A mobile agent's tour: it visits the hosts named on its command line, moving
 * itself with tern's jump call, and comes home with what each host's
 * /etc/node.txt said. It holds that file open across its jumps: the file is
 * rebound (rb, the default binding) at every host, so each read is that host's own.
 *
 * usage: tour HOP...   (HOP: tcp:HOST:PORT; the last one is home again)
 * exit status 0, or 1 when a jump fails
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TERN_JUMP 0x5445524e

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int fd = open("/etc/node.txt", O_RDONLY);
    if (fd < 0) {
        perror("/etc/node.txt");
        return 1;
    }
    char list[4096] = "";
    for (int hop = 1;; hop++) {
        char here[128];
        ssize_t n = pread(fd, here, sizeof here - 1, 0);
        here[n < 0 ? 0 : n] = 0;
        here[strcspn(here, "\n")] = 0;
        printf("at %s\n", here);
        strncat(list, " ", sizeof list - strlen(list) - 1);
        strncat(list, here, sizeof list - strlen(list) - 1);
        if (hop >= argc)
            break;
        if (syscall(TERN_JUMP, argv[hop]) != 0) {
            printf("jump to %s failed: %s\n", argv[hop], strerror(errno));
            return 1;
        }
    }
    printf("visited:%s\n", list);
    return 0;
}
