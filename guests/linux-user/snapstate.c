/* State that must survive a process snapshot, in the style of CRIU's zdtm tests:
 * each mode sets up one kind of state, prints "ready", waits until the file GO
 * exists (the test creates it after the snapshot, before the restore), checks that
 * the state is what it set up, and prints "PASS" (or "FAIL: why" lines).
 *
 * usage: snapstate MODE GO     (exit status 0 on PASS, 1 on FAIL)
 *   pipe        pipes with buffered bytes: both ends held, the write end closed,
 *               the read end closed; capacity and O_NONBLOCK
 *   socketpair  Unix stream, datagram and seqpacket pairs with queued data, and a
 *               stream pair with one end closed
 *   memfd       a memfd's name, contents, size and seals
 *   timerfd     an armed periodic timerfd and a disarmed one, with their flags
 *   signalfd    a signalfd's mask and flags, with a signal pending
 *   posixtimer  a periodic POSIX timer signalling SIGUSR1 with a value, and an
 *               armed SIGEV_NONE timer
 *   sysv        a SysV semaphore set, message queue and an attached shared-memory
 *               segment with contents
 *   ghost       a file unlinked while open (GO.ghost), 100000 bytes, seeked
 *   mqueue      a POSIX message queue with three messages of three priorities,
 *               held by a read-write and a write-only non-blocking descriptor
 *   fifo        a FIFO (GO.fifo) opened for reading, blocking, with no writer
 *   stderrlog   stderr redirected to GO.log, GO.data held open (a test removes it
 *               before the restore, which must fail on tern's own stderr)
 *   pause       blocked in pause(): a SIGTERM sent to the restored process runs
 *               the handler (GO is not used: the test sends the signal)
 *   futex       blocked in a futex wait: the same
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <mqueue.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static int failed;

#define CHECK(cond, ...)                                                               \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            printf("FAIL: " __VA_ARGS__);                                              \
            printf(" (%s, errno %d)\n", #cond, errno);                                 \
            failed = 1;                                                                \
        }                                                                              \
    } while (0)

static void ready(void) {
    printf("ready\n");
    fflush(stdout);
}

static void wait_go(const char *go) {
    struct timespec ts = {0, 20 * 1000 * 1000};
    while (access(go, F_OK) != 0)
        nanosleep(&ts, NULL);
    printf("restored\n");
    fflush(stdout);
}

/* Reads exactly `len` bytes (non-blocking descriptors: retried on EAGAIN only
 * while something was read, so an empty descriptor fails). */
static int read_all(int fd, char *buf, size_t len) {
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n <= 0)
            return -1;
        got += n;
    }
    return 0;
}

static void fill(char *buf, size_t len, unsigned seed) {
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)(seed + i * 7 + i / 251);
}

/* ---- pipes ---- */

#define BIG (100 * 1000)

static int pipe_mode(const char *go) {
    static char big[BIG], back[BIG];
    int both[2], rd_only[2], wr_only[2];
    if (pipe(both) || pipe(rd_only) || pipe(wr_only))
        return perror("pipe"), 1;
    /* Both ends held: 128 KiB capacity, 100000 bytes in it, read end non-blocking. */
    CHECK(fcntl(both[1], F_SETPIPE_SZ, 128 * 1024) >= 128 * 1024, "F_SETPIPE_SZ");
    fill(big, BIG, 3);
    CHECK(write(both[1], big, BIG) == BIG, "write 100000 bytes");
    fcntl(both[0], F_SETFL, O_NONBLOCK);
    /* Read end only: 11 bytes then end of file. */
    CHECK(write(rd_only[1], "hello pipe\n", 11) == 11, "write");
    close(rd_only[1]);
    /* Write end only: writing fails with EPIPE (SIGPIPE ignored). */
    close(wr_only[0]);
    signal(SIGPIPE, SIG_IGN);
    int before = fcntl(both[0], F_GETPIPE_SZ);
    ready();
    wait_go(go);
    CHECK(fcntl(both[0], F_GETPIPE_SZ) == before, "capacity %d kept",
          before);
    CHECK(fcntl(both[0], F_GETFL) & O_NONBLOCK, "O_NONBLOCK on the read end");
    CHECK(!(fcntl(both[1], F_GETFL) & O_NONBLOCK), "blocking write end");
    CHECK(read_all(both[0], back, BIG) == 0, "read back 100000 bytes");
    CHECK(memcmp(big, back, BIG) == 0, "the same bytes");
    char c;
    CHECK(read(both[0], &c, 1) == -1 && errno == EAGAIN, "then empty");
    CHECK(write(both[1], "x", 1) == 1 && read(both[0], &c, 1) == 1 && c == 'x',
          "the two ends still connected");
    char line[32] = {0};
    CHECK(read(rd_only[0], line, sizeof line) == 11 && !strcmp(line, "hello pipe\n"),
          "bytes of the pipe whose write end was closed");
    CHECK(read(rd_only[0], line, sizeof line) == 0, "then end of file");
    errno = 0;
    CHECK(write(wr_only[1], "x", 1) == -1 && errno == EPIPE,
          "EPIPE on the pipe whose read end was closed");
    return failed;
}

/* ---- socketpairs ---- */

static int socketpair_mode(const char *go) {
    int st[2], dg[2], sp[2], half[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) || socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) ||
        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sp) ||
        socketpair(AF_UNIX, SOCK_STREAM, 0, half))
        return perror("socketpair"), 1;
    static char big[50000], back[50000];
    fill(big, sizeof big, 9);
    /* Stream: bytes queued both ways. */
    CHECK(write(st[0], big, sizeof big) == sizeof big, "stream write");
    CHECK(write(st[1], "reply", 5) == 5, "stream reply");
    /* Datagrams of three sizes, and one empty. */
    CHECK(send(dg[0], "one", 3, 0) == 3, "dgram");
    CHECK(send(dg[0], "", 0, 0) == 0, "empty dgram");
    CHECK(send(dg[0], big, 3000, 0) == 3000, "dgram");
    CHECK(send(dg[1], "back", 4, 0) == 4, "dgram back");
    /* Records. */
    CHECK(send(sp[1], "rec-a", 5, 0) == 5 && send(sp[1], "record-b", 8, 0) == 8, "seqpacket");
    /* One end closed after writing. */
    CHECK(write(half[1], "last words", 10) == 10, "half write");
    close(half[1]);
    ready();
    wait_go(go);
    CHECK(read_all(st[1], back, sizeof big) == 0 && !memcmp(big, back, sizeof big),
          "stream bytes");
    char buf[4096];
    CHECK(recv(st[0], buf, sizeof buf, 0) == 5 && !memcmp(buf, "reply", 5), "stream reply");
    CHECK(write(st[1], "more", 4) == 4 && recv(st[0], buf, sizeof buf, 0) == 4,
          "the stream pair still connected");
    CHECK(recv(dg[1], buf, sizeof buf, 0) == 3 && !memcmp(buf, "one", 3), "first dgram");
    CHECK(recv(dg[1], buf, sizeof buf, MSG_DONTWAIT) == 0, "empty dgram");
    CHECK(recv(dg[1], buf, sizeof buf, 0) == 3000 && !memcmp(buf, big, 3000), "third dgram");
    CHECK(recv(dg[1], buf, sizeof buf, MSG_DONTWAIT) == -1 && errno == EAGAIN, "no more");
    CHECK(recv(dg[0], buf, sizeof buf, 0) == 4 && !memcmp(buf, "back", 4), "dgram back");
    int type = 0;
    socklen_t tl = sizeof type;
    CHECK(getsockopt(sp[0], SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_SEQPACKET,
          "seqpacket type");
    CHECK(fcntl(sp[0], F_GETFL) & O_NONBLOCK, "seqpacket non-blocking");
    CHECK(recv(sp[0], buf, 3, 0) == 3 && !memcmp(buf, "rec", 3), "record a, truncated");
    CHECK(recv(sp[0], buf, sizeof buf, 0) == 8 && !memcmp(buf, "record-b", 8), "record b");
    CHECK(recv(sp[0], buf, sizeof buf, 0) == -1 && errno == EAGAIN, "no more records");
    CHECK(read(half[0], buf, sizeof buf) == 10 && !memcmp(buf, "last words", 10),
          "bytes from the closed end");
    CHECK(read(half[0], buf, sizeof buf) == 0, "then end of file");
    return failed;
}

/* ---- memfd ---- */

static int memfd_mode(const char *go) {
    int fd = memfd_create("state-memfd", MFD_ALLOW_SEALING | MFD_CLOEXEC);
    int plain = memfd_create("plain", 0);
    if (fd < 0 || plain < 0)
        return perror("memfd_create"), 1;
    static char data[70000], back[70000];
    fill(data, sizeof data, 5);
    CHECK(write(fd, data, sizeof data) == sizeof data, "write");
    CHECK(ftruncate(fd, 200000) == 0, "grow");
    CHECK(lseek(fd, 1234, SEEK_SET) == 1234, "seek");
    CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0, "seal");
    CHECK(write(plain, "abc", 3) == 3, "write plain");
    ready();
    wait_go(go);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == 200000, "size %ld", (long)st.st_size);
    CHECK(lseek(fd, 0, SEEK_CUR) == 1234, "offset");
    CHECK(pread(fd, back, sizeof back, 0) == sizeof back && !memcmp(data, back, sizeof back),
          "contents");
    CHECK(pread(fd, back, 10, 199990) == 10 && !memcmp(back, "\0\0\0\0\0\0\0\0\0\0", 10),
          "zeros past the written bytes");
    CHECK(fcntl(fd, F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_GROW), "seals %#x",
          fcntl(fd, F_GET_SEALS));
    CHECK(ftruncate(fd, 10) == -1 && errno == EPERM, "shrink refused");
    CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC, "close-on-exec");
    char link[64] = {0};
    snprintf(back, 64, "/proc/self/fd/%d", fd);
    CHECK(readlink(back, link, sizeof link - 1) > 0 && strstr(link, "memfd:state-memfd"),
          "name (%s)", link);
    CHECK(fcntl(plain, F_GET_SEALS) == F_SEAL_SEAL, "no sealing allowed on the plain one");
    CHECK(pread(plain, back, 10, 0) == 3 && !memcmp(back, "abc", 3), "plain contents");
    return failed;
}

/* ---- timerfd ---- */

static int timerfd_mode(const char *go) {
    int armed = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    int idle = timerfd_create(CLOCK_REALTIME, 0);
    if (armed < 0 || idle < 0)
        return perror("timerfd_create"), 1;
    /* First expiry in 400 ms, then every 50 ms. */
    struct itimerspec its = {{0, 50 * 1000 * 1000}, {0, 400 * 1000 * 1000}};
    CHECK(timerfd_settime(armed, 0, &its, NULL) == 0, "settime");
    ready();
    wait_go(go);
    struct itimerspec now;
    CHECK(timerfd_gettime(armed, &now) == 0, "gettime");
    CHECK(now.it_interval.tv_sec == 0 && now.it_interval.tv_nsec == 50 * 1000 * 1000,
          "interval %ld.%09ld", (long)now.it_interval.tv_sec, now.it_interval.tv_nsec);
    CHECK(now.it_value.tv_sec != 0 || now.it_value.tv_nsec != 0, "still armed");
    CHECK(fcntl(armed, F_GETFL) & O_NONBLOCK, "TFD_NONBLOCK");
    CHECK(fcntl(armed, F_GETFD) == FD_CLOEXEC, "TFD_CLOEXEC");
    /* It keeps expiring: wait for a tick with a blocking read. */
    fcntl(armed, F_SETFL, 0);
    uint64_t ticks = 0;
    CHECK(read(armed, &ticks, 8) == 8 && ticks >= 1, "ticks after the restore");
    CHECK(timerfd_gettime(idle, &now) == 0 && now.it_value.tv_sec == 0 &&
              now.it_value.tv_nsec == 0 && now.it_interval.tv_nsec == 0,
          "the idle timer stays disarmed");
    CHECK(!(fcntl(idle, F_GETFL) & O_NONBLOCK), "idle timer blocking");
    return failed;
}

/* ---- signalfd ---- */

static int signalfd_mode(const char *go) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int fd = signalfd(-1, &set, SFD_NONBLOCK);
    if (fd < 0)
        return perror("signalfd"), 1;
    /* One signal waits at the snapshot. */
    kill(getpid(), SIGUSR2);
    ready();
    wait_go(go);
    struct signalfd_siginfo si;
    CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK, "SFD_NONBLOCK");
    CHECK(read(fd, &si, sizeof si) == sizeof si && si.ssi_signo == SIGUSR2,
          "the SIGUSR2 pending at the snapshot");
    CHECK(read(fd, &si, sizeof si) == -1 && errno == EAGAIN, "then nothing pending");
    kill(getpid(), SIGUSR1);
    CHECK(read(fd, &si, sizeof si) == sizeof si && si.ssi_signo == SIGUSR1, "SIGUSR1 read");
    return failed;
}

/* ---- POSIX timers ---- */

static volatile sig_atomic_t timer_ticks, timer_value;

static void on_timer(int sig, siginfo_t *si, void *ctx) {
    (void)sig;
    (void)ctx;
    timer_ticks++;
    timer_value = si->si_value.sival_int;
}

static int posixtimer_mode(const char *go) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_timer;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    ev.sigev_value.sival_int = 42;
    timer_t periodic, quiet;
    if (timer_create(CLOCK_MONOTONIC, &ev, &periodic) != 0)
        return perror("timer_create"), 1;
    ev.sigev_notify = SIGEV_NONE;
    if (timer_create(CLOCK_REALTIME, &ev, &quiet) != 0)
        return perror("timer_create"), 1;
    /* First expiry in 300 ms (after the snapshot), then every 30 ms. */
    struct itimerspec its = {{0, 30 * 1000 * 1000}, {0, 300 * 1000 * 1000}};
    struct itimerspec far = {{0, 0}, {100, 0}};
    CHECK(timer_settime(periodic, 0, &its, NULL) == 0, "settime");
    CHECK(timer_settime(quiet, 0, &far, NULL) == 0, "settime");
    ready();
    wait_go(go);
    struct itimerspec now;
    CHECK(timer_gettime(periodic, &now) == 0 && now.it_interval.tv_nsec == 30 * 1000 * 1000,
          "the periodic timer's interval");
    CHECK(timer_gettime(quiet, &now) == 0 && now.it_value.tv_sec <= 100 &&
              (now.it_value.tv_sec > 0 || now.it_value.tv_nsec > 0) &&
              now.it_interval.tv_sec == 0,
          "the quiet timer still armed (%ld s left)", (long)now.it_value.tv_sec);
    struct timespec ts = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 500 && timer_ticks < 3; i++)
        nanosleep(&ts, NULL);
    CHECK(timer_ticks >= 3, "3 expirations after the restore (%d)", (int)timer_ticks);
    CHECK(timer_value == 42, "sigev_value %d", (int)timer_value);
    CHECK(timer_delete(periodic) == 0 && timer_delete(quiet) == 0, "timer_delete");
    return failed;
}

/* ---- SysV IPC ---- */

struct text_msg {
    long type;
    char text[32];
};

static int sysv_mode(const char *go) {
    int sem = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    int msq = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    int shm = shmget(IPC_PRIVATE, 65536, IPC_CREAT | 0600);
    if (sem < 0 || msq < 0 || shm < 0)
        return perror("sysv get"), 1;
    unsigned short vals[2] = {3, 7};
    CHECK(semctl(sem, 0, SETALL, vals) == 0, "SETALL");
    struct sembuf op = {1, -2, SEM_UNDO};
    CHECK(semop(sem, &op, 1) == 0, "semop with undo");
    struct text_msg m1 = {1, "first"}, m2 = {2, "second"};
    CHECK(msgsnd(msq, &m1, 6, 0) == 0 && msgsnd(msq, &m2, 7, 0) == 0, "msgsnd");
    char *p = shmat(shm, NULL, 0);
    if (p == (void *)-1)
        return perror("shmat"), 1;
    for (int i = 0; i < 65536; i++)
        p[i] = (char)(i * 13 + 1);
    ready();
    wait_go(go);
    CHECK(semctl(sem, 0, GETVAL) == 3 && semctl(sem, 1, GETVAL) == 5, "semaphore values");
    struct text_msg got;
    CHECK(msgrcv(msq, &got, sizeof got.text, 2, IPC_NOWAIT) == 7 && !strcmp(got.text, "second"),
          "the type-2 message");
    CHECK(msgrcv(msq, &got, sizeof got.text, 0, IPC_NOWAIT) == 6 && !strcmp(got.text, "first"),
          "the type-1 message");
    CHECK(msgrcv(msq, &got, sizeof got.text, 0, IPC_NOWAIT) == -1 && errno == ENOMSG,
          "then no message");
    int same = 1;
    for (int i = 0; i < 65536; i++)
        same &= p[i] == (char)(i * 13 + 1);
    CHECK(same, "the segment's bytes through the attachment");
    struct shmid_ds ds;
    CHECK(shmctl(shm, IPC_STAT, &ds) == 0 && ds.shm_nattch == 1, "one attachment (%d)",
          (int)ds.shm_nattch);
    char *q = shmat(shm, NULL, SHM_RDONLY);
    CHECK(q != (void *)-1, "attach again");
    if (q != (void *)-1) {
        p[100] = 'Z';
        CHECK(q[100] == 'Z', "both attachments show the same page");
        CHECK(shmdt(q) == 0, "shmdt");
    }
    CHECK(shmdt(p) == 0 && shmctl(shm, IPC_RMID, NULL) == 0, "detach and remove");
    CHECK(semctl(sem, 0, IPC_RMID) == 0 && msgctl(msq, IPC_RMID, NULL) == 0, "remove");
    return failed;
}

/* ---- a file unlinked while open ---- */

static int ghost_mode(const char *go) {
    static char data[100000], back[100000];
    char path[4096];
    snprintf(path, sizeof path, "%s.ghost", go);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0640);
    if (fd < 0)
        return perror(path), 1;
    fill(data, sizeof data, 11);
    CHECK(write(fd, data, sizeof data) == sizeof data, "write");
    CHECK(lseek(fd, 1234, SEEK_SET) == 1234, "seek");
    CHECK(unlink(path) == 0, "unlink");
    ready();
    wait_go(go);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_nlink == 0 && st.st_size == sizeof data &&
              (st.st_mode & 0777) == 0640,
          "an unlinked file of the same size and mode (links %d)", (int)st.st_nlink);
    CHECK(lseek(fd, 0, SEEK_CUR) == 1234, "its offset");
    CHECK(pread(fd, back, sizeof back, 0) == sizeof back && !memcmp(data, back, sizeof back),
          "its contents");
    CHECK(access(path, F_OK) != 0, "no name");
    CHECK(pwrite(fd, "x", 1, 0) == 1, "still writable");
    return failed;
}

/* ---- POSIX message queues ---- */

static int mqueue_mode(const char *go) {
    struct mq_attr attr = {0, 8, 64, 0};
    mq_unlink("/snapstate-q");
    mqd_t q = mq_open("/snapstate-q", O_CREAT | O_RDWR, 0600, &attr);
    mqd_t wr = mq_open("/snapstate-q", O_WRONLY | O_NONBLOCK);
    if (q == (mqd_t)-1 || wr == (mqd_t)-1)
        return perror("mq_open"), 1;
    CHECK(mq_send(q, "low", 3, 1) == 0 && mq_send(q, "high", 4, 5) == 0 &&
              mq_send(wr, "middle", 6, 3) == 0,
          "mq_send");
    ready();
    wait_go(go);
    struct mq_attr now;
    CHECK(mq_getattr(q, &now) == 0 && now.mq_maxmsg == 8 && now.mq_msgsize == 64 &&
              now.mq_curmsgs == 3 && !(now.mq_flags & O_NONBLOCK),
          "attributes (%ld messages)", (long)now.mq_curmsgs);
    CHECK(mq_getattr(wr, &now) == 0 && (now.mq_flags & O_NONBLOCK), "the writer non-blocking");
    char buf[64];
    unsigned prio = 0;
    CHECK(mq_receive(q, buf, sizeof buf, &prio) == 4 && prio == 5 && !memcmp(buf, "high", 4),
          "the priority-5 message first");
    CHECK(mq_receive(q, buf, sizeof buf, &prio) == 6 && prio == 3, "then priority 3");
    CHECK(mq_receive(q, buf, sizeof buf, &prio) == 3 && prio == 1, "then priority 1");
    CHECK(mq_send(wr, "again", 5, 0) == 0 && mq_receive(q, buf, sizeof buf, &prio) == 5,
          "both descriptors name one queue");
    CHECK(mq_unlink("/snapstate-q") == 0, "mq_unlink");
    return failed;
}

/* ---- a FIFO held for reading ---- */

static int fifo_mode(const char *go) {
    char path[4096];
    snprintf(path, sizeof path, "%s.fifo", go);
    unlink(path);
    if (mkfifo(path, 0600) != 0)
        return perror("mkfifo"), 1;
    /* A writer for the moment, so that the blocking open returns. */
    int rw = open(path, O_RDWR);
    int rd = open(path, O_RDONLY);
    if (rw < 0 || rd < 0)
        return perror(path), 1;
    close(rw);
    ready();
    wait_go(go);
    CHECK(!(fcntl(rd, F_GETFL) & O_NONBLOCK), "still blocking");
    int wr = open(path, O_WRONLY | O_NONBLOCK);
    CHECK(wr >= 0, "a writer finds the reader");
    char c = 0;
    CHECK(write(wr, "y", 1) == 1 && read(rd, &c, 1) == 1 && c == 'y', "a byte through it");
    close(wr);
    CHECK(read(rd, &c, 1) == 0, "end of file without a writer");
    unlink(path);
    return failed;
}

/* ---- the program's own stderr ---- */

static int stderrlog_mode(const char *go) {
    char path[4096];
    snprintf(path, sizeof path, "%s.log", go);
    int log = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    snprintf(path, sizeof path, "%s.data", go);
    int data = open(path, O_RDWR | O_CREAT, 0644);
    if (log < 0 || data < 0 || dup2(log, 2) != 2)
        return perror("stderrlog"), 1;
    close(log);
    ready();
    wait_go(go);
    fprintf(stderr, "the program's own line\n");
    return 0;
}

/* ---- blocked waits interrupted by a signal ---- */

static volatile sig_atomic_t got_term;
static int futex_word;

static void on_term(int sig) {
    (void)sig;
    got_term = 1;
}

static int blocked_mode(int use_futex) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    ready();
    while (!got_term) {
        if (use_futex)
            syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
        else
            pause();
    }
    printf("handler ran\n");
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: snapstate MODE GO\n");
        return 2;
    }
    const char *mode = argv[1], *go = argc > 2 ? argv[2] : "/nonexistent";
    int r;
    if (!strcmp(mode, "pipe"))
        r = pipe_mode(go);
    else if (!strcmp(mode, "socketpair"))
        r = socketpair_mode(go);
    else if (!strcmp(mode, "memfd"))
        r = memfd_mode(go);
    else if (!strcmp(mode, "timerfd"))
        r = timerfd_mode(go);
    else if (!strcmp(mode, "signalfd"))
        r = signalfd_mode(go);
    else if (!strcmp(mode, "posixtimer"))
        r = posixtimer_mode(go);
    else if (!strcmp(mode, "sysv"))
        r = sysv_mode(go);
    else if (!strcmp(mode, "ghost"))
        r = ghost_mode(go);
    else if (!strcmp(mode, "mqueue"))
        r = mqueue_mode(go);
    else if (!strcmp(mode, "fifo"))
        r = fifo_mode(go);
    else if (!strcmp(mode, "stderrlog"))
        r = stderrlog_mode(go);
    else if (!strcmp(mode, "pause"))
        r = blocked_mode(0);
    else if (!strcmp(mode, "futex"))
        r = blocked_mode(1);
    else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    printf(r ? "FAIL\n" : "PASS\n");
    return r;
}
