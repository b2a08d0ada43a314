/* A small HTTP server for the super-server's first-byte measurement
 * (crates/tern/tests/node_first_byte.rs): one process, no fork per request.
 *
 * usage: http_count PORT    listen on PORT (all addresses); answer every request
 *                           with "hello from tern, request N" (N counts requests,
 *                           kept in memory, so it survives a snapshot and restore);
 *                           prints "http_count: listening" once it listens
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: http_count PORT\n");
        return 2;
    }
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(atoi(argv[1]));
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 64) < 0) {
        perror("http_count: bind/listen");
        return 1;
    }
    printf("http_count: listening\n");
    fflush(stdout);
    unsigned long n = 0;
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0)
            continue;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        /* Read the request head (bounded): up to the empty line. */
        char buf[2048];
        size_t got = 0;
        while (got < sizeof buf - 1) {
            ssize_t r = read(c, buf + got, sizeof buf - 1 - got);
            if (r <= 0)
                break;
            got += r;
            buf[got] = 0;
            if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
                break;
        }
        n++;
        char out[256];
        int len = snprintf(out, sizeof out,
                           "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                           "Connection: close\r\n\r\nhello from tern, request %lu\n",
                           n);
        if (write(c, out, len) < 0) {
            /* the client went away: nothing to do */
        }
        close(c);
    }
}
