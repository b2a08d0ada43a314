/* Network escapes through tern's user-mode NAT (libslirp), from inside the guest.
 *
 *   flows probe ADDR PORT        a TCP connection to ADDR:PORT sending "tcp-probe",
 *                                and a UDP datagram "udp-probe" to ADDR:PORT
 *   flows raw PORT               hand-made frames (AF_PACKET) to 127.0.0.1:PORT and
 *                                0.0.0.0:PORT through the gateway: a datagram
 *                                "raw-probe" that the guest's own stack would never
 *                                route out
 *   flows flood ADDR PORT N SEC  N TCP connections and N UDP sockets (one datagram
 *                                each, from N source ports) to ADDR:PORT, all kept
 *                                open for SEC seconds
 *
 * Prints "flows: ..." lines; the host decides what they mean (what arrived on its
 * side, how many descriptors tern held). Exit status 0 unless the program itself
 * could not run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in addr_of(const char *ip, int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
        fprintf(stderr, "flows: bad address %s\n", ip);
        exit(2);
    }
    return a;
}

static int probe(const char *ip, int port) {
    struct sockaddr_in a = addr_of(ip, port);
    int t = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {5, 0};
    setsockopt(t, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(t, (struct sockaddr *)&a, sizeof a) == 0) {
        ssize_t n = write(t, "tcp-probe\n", 10);
        printf("flows: tcp %s:%d connected, wrote %zd\n", ip, port, n);
    } else {
        printf("flows: tcp %s:%d refused (%s)\n", ip, port, strerror(errno));
    }
    close(t);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    ssize_t n = sendto(u, "udp-probe", 9, 0, (struct sockaddr *)&a, sizeof a);
    printf("flows: udp %s:%d sent %zd\n", ip, port, n);
    usleep(500 * 1000);
    close(u);
    return 0;
}

static uint16_t csum(const void *data, size_t len) {
    const uint8_t *p = data;
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* One UDP datagram in a hand-made frame from eth0 to the gateway's MAC. */
static int raw_send(int s, int ifindex, const uint8_t src_mac[6], uint32_t dst_ip, int port) {
    static const uint8_t gw_mac[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};
    uint8_t f[64];
    memset(f, 0, sizeof f);
    memcpy(f, gw_mac, 6);
    memcpy(f + 6, src_mac, 6);
    f[12] = 0x08, f[13] = 0x00;
    uint8_t *ip = f + 14;
    const char *payload = "raw-probe";
    size_t plen = 9, udp_len = 8 + plen, ip_len = 20 + udp_len;
    ip[0] = 0x45;
    ip[2] = ip_len >> 8, ip[3] = ip_len & 0xff;
    ip[8] = 64;
    ip[9] = 17;
    uint32_t src = htonl(0x0a00020f); /* 10.0.2.15 */
    memcpy(ip + 12, &src, 4);
    memcpy(ip + 16, &dst_ip, 4);
    uint16_t c = csum(ip, 20);
    ip[10] = c >> 8, ip[11] = c & 0xff;
    uint8_t *udp = ip + 20;
    udp[0] = 0x9c, udp[1] = 0x40; /* source port 40000 */
    udp[2] = port >> 8, udp[3] = port & 0xff;
    udp[4] = udp_len >> 8, udp[5] = udp_len & 0xff;
    memcpy(udp + 8, payload, plen);
    struct sockaddr_ll to;
    memset(&to, 0, sizeof to);
    to.sll_family = AF_PACKET;
    to.sll_ifindex = ifindex;
    to.sll_halen = 6;
    memcpy(to.sll_addr, gw_mac, 6);
    return (int)sendto(s, f, 14 + ip_len, 0, (struct sockaddr *)&to, sizeof to);
}

static int raw(int port) {
    int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP));
    if (s < 0) {
        printf("flows: raw socket: %s\n", strerror(errno));
        return 1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "eth0");
    if (ioctl(s, SIOCGIFINDEX, &ifr) < 0) {
        printf("flows: eth0: %s\n", strerror(errno));
        return 1;
    }
    int ifindex = ifr.ifr_ifindex;
    if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0) {
        printf("flows: eth0 address: %s\n", strerror(errno));
        return 1;
    }
    uint8_t mac[6];
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    uint32_t targets[2] = {htonl(0x7f000001), htonl(0)};
    for (int i = 0; i < 2; i++) {
        int n = raw_send(s, ifindex, mac, targets[i], port);
        struct in_addr a = {targets[i]};
        printf("flows: raw udp to %s:%d sent %d\n", inet_ntoa(a), port, n);
    }
    usleep(500 * 1000);
    close(s);
    return 0;
}

static int flood(const char *ip, int port, int n, int seconds) {
    struct rlimit rl = {4 * (rlim_t)n + 64, 4 * (rlim_t)n + 64};
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        printf("flows: setrlimit: %s\n", strerror(errno));
    struct sockaddr_in a = addr_of(ip, port);
    int *tcp = calloc(n, sizeof(int));
    int opened = 0, udp_sent = 0;
    for (int i = 0; i < n; i++) {
        tcp[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (tcp[i] < 0)
            break;
        opened++;
        connect(tcp[i], (struct sockaddr *)&a, sizeof a);
        int u = socket(AF_INET, SOCK_DGRAM, 0);
        if (u >= 0 && sendto(u, "flood", 5, 0, (struct sockaddr *)&a, sizeof a) == 5)
            udp_sent++;
        /* u stays open: its source port stays in use, so each datagram is a flow. */
    }
    /* Wait for every connection attempt to end one way or the other. */
    int ok = 0, refused = 0, pending = opened;
    char *done = calloc(n, 1);
    time_t start = time(NULL);
    while (pending > 0 && time(NULL) - start < 60) {
        for (int i = 0; i < opened; i++) {
            if (done[i])
                continue;
            struct pollfd p = {tcp[i], POLLOUT, 0};
            if (poll(&p, 1, 0) == 1) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(tcp[i], SOL_SOCKET, SO_ERROR, &err, &len);
                if (err == 0)
                    ok++;
                else
                    refused++;
                done[i] = 1;
                pending--;
            }
        }
        usleep(100 * 1000);
    }
    printf("flows: tcp %d opened, %d connected, %d refused, %d pending\n", opened, ok, refused,
           pending);
    printf("flows: udp %d sent\n", udp_sent);
    fflush(stdout);
    sleep(seconds);
    printf("flows: flood done\n");
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 4 && strcmp(argv[1], "probe") == 0)
        return probe(argv[2], atoi(argv[3]));
    if (argc == 3 && strcmp(argv[1], "raw") == 0)
        return raw(atoi(argv[2]));
    if (argc == 6 && strcmp(argv[1], "flood") == 0)
        return flood(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
    fprintf(stderr, "usage: flows probe ADDR PORT | raw PORT | flood ADDR PORT N SECONDS\n");
    return 2;
}
