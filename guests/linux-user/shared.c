/* Shared mappings: MAP_SHARED files coherent with read/write, shared with a forked
 * child, msync; shared anonymous memory across fork with a process-shared mutex and
 * condition variable; SIGBUS past the end of a file; the errors of mprotect, msync
 * and mremap. Prints one line per check; the same output is expected from
 * qemu-riscv64 and tern exec. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *path;

/* "result errno-name" of a call that returns an int (errno read after the call). */
#define SHOW(label, call)                                                             \
    do {                                                                              \
        errno = 0;                                                                    \
        int r_ = (call);                                                              \
        printf("%s: %d %s\n", label, r_, r_ < 0 ? strerror(errno) : "ok");            \
    } while (0)

static int scratch(size_t size) {
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, size) != 0) {
        perror("scratch");
        exit(1);
    }
    return fd;
}

static void file_is_coherent(void) {
    int fd = scratch(8192);
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        printf("mmap shared file: %s\n", strerror(errno));
        return;
    }
    strcpy(m + 4096, "written through the mapping");
    char buf[64] = {0};
    pread(fd, buf, 27, 4096);
    printf("read sees the mapping's write: %s\n", buf);
    pwrite(fd, "written by pwrite", 17, 100);
    printf("the mapping sees pwrite: %.17s\n", m + 100);
    SHOW("msync MS_SYNC", msync(m, 8192, MS_SYNC));
    SHOW("msync MS_ASYNC|MS_INVALIDATE", msync(m, 4096, MS_ASYNC | MS_INVALIDATE));
    SHOW("msync bad flags", msync(m, 8192, MS_SYNC | MS_ASYNC));
    SHOW("msync unaligned", msync(m + 1, 10, MS_SYNC));
    munmap(m + 4096, 4096);
    SHOW("msync partly unmapped", msync(m, 8192, MS_SYNC));
    munmap(m, 4096);
    close(fd);
}

static void file_is_shared_with_a_child(void) {
    int fd = scratch(4096);
    int *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 1000; i++)
            m[i] = i * 3;
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    long sum = 0;
    for (int i = 0; i < 1000; i++)
        sum += m[i];
    printf("parent sees the child's writes to the file mapping: sum %ld\n", sum);
    munmap(m, 4096);
    fd = open(path, O_RDONLY);
    int v = 0;
    pread(fd, &v, sizeof v, 999 * sizeof(int));
    printf("the file holds them: %d\n", v);
    close(fd);
}

struct board {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    long counter;
    int turn;
};

static void anonymous_memory_is_shared_across_fork(void) {
    struct board *b = mmap(NULL, sizeof *b, PROT_READ | PROT_WRITE,
                           MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&b->lock, &ma);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    pthread_cond_init(&b->changed, &ca);
    b->counter = 0;
    b->turn = 0;
    enum { ROUNDS = 200 };
    pid_t pid = fork();
    int me = pid == 0 ? 1 : 0;
    /* Parent and child take turns through the condition variable (futexes in
     * memory the two processes share). */
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&b->lock);
        while (b->turn != me)
            pthread_cond_wait(&b->changed, &b->lock);
        b->counter += me ? 1000 : 1;
        b->turn = !me;
        pthread_cond_broadcast(&b->changed);
        pthread_mutex_unlock(&b->lock);
    }
    if (pid == 0)
        _exit(0);
    int st;
    waitpid(pid, &st, 0);
    printf("ping-pong through shared anonymous memory: counter %ld turn %d\n", b->counter,
           b->turn);
    munmap(b, sizeof *b);
}

static sigjmp_buf jump;
static volatile int bus_code;

static void on_bus(int sig, siginfo_t *si, void *ctx) {
    (void)sig;
    (void)ctx;
    bus_code = si->si_code;
    siglongjmp(jump, 1);
}

static void past_the_end_is_sigbus(void) {
    int fd = scratch(100);
    char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &sa, NULL);
    printf("inside the last page of the file: %d\n", m[4095]);
    if (sigsetjmp(jump, 1) == 0) {
        volatile char c = m[2 * 4096];
        (void)c;
        printf("past the end: no signal\n");
    } else {
        printf("past the end: SIGBUS code %d\n", bus_code);
    }
    /* The file grows: the page is there now. */
    ftruncate(fd, 3 * 4096);
    if (sigsetjmp(jump, 1) == 0) {
        m[2 * 4096] = 'g';
        printf("after the file grew: %c\n", m[2 * 4096]);
    } else {
        printf("after the file grew: SIGBUS\n");
    }
    munmap(m, 3 * 4096);
    close(fd);
}

/* A shared anonymous object keeps the size it was made with: mremap moves it and may
 * make the mapping longer, but the pages past the object are SIGBUS. */
static void shared_anonymous_memory_keeps_its_size(void) {
    char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    strcpy(m, "kept across mremap");
    char *n = mremap(m, 4096, 3 * 4096, MREMAP_MAYMOVE);
    if (n == MAP_FAILED) {
        printf("mremap: %s\n", strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        n[100] = 'c';
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("grown: %.18s, the child's byte %c\n", n, n[100]);
    if (sigsetjmp(jump, 1) == 0) {
        n[2 * 4096] = 'z';
        printf("past the object: no signal\n");
    } else {
        printf("past the object: SIGBUS code %d\n", bus_code);
    }
    SHOW("mremap shrink", mremap(n, 3 * 4096, 4096, 0) == n ? 0 : -1);
    SHOW("mremap DONTUNMAP of shared", mremap(n, 4096, 4096, MREMAP_MAYMOVE | MREMAP_DONTUNMAP) == MAP_FAILED ? -1 : 0);
    munmap(n, 4096);
}

static void read_only_files_stay_read_only(void) {
    int fd = scratch(4096);
    pwrite(fd, "ro", 2, 0);
    close(fd);
    fd = open(path, O_RDONLY);
    void *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("writable shared mapping of a read-only file: %s\n",
           w == MAP_FAILED ? strerror(errno) : "mapped");
    char *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    printf("read-only shared mapping: %.2s\n", m);
    SHOW("mprotect PROT_WRITE", mprotect(m, 4096, PROT_READ | PROT_WRITE));
    int wfd = open(path, O_WRONLY);
    pwrite(wfd, "RO", 2, 0);
    close(wfd);
    printf("it follows the file: %.2s\n", m);
    munmap(m, 4096);
    close(fd);
}

static volatile sig_atomic_t sent_code = 99;

static void on_sent_bus(int sig, siginfo_t *si, void *ctx) {
    (void)sig;
    (void)ctx;
    sent_code = si->si_code;
}

/* With shared pages mapped (tern's guard for cut-off pages is then installed), a
 * SIGBUS another process sends still reaches the program's handler. */
static void a_sent_sigbus_reaches_the_handler(void) {
    int fd = scratch(4096);
    char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    m[0] = 1;
    struct sigaction sa = {0};
    sa.sa_sigaction = on_sent_bus;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &sa, NULL);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGBUS);
    sigprocmask(SIG_BLOCK, &block, &old);
    pid_t pid = fork();
    if (pid == 0) {
        kill(getppid(), SIGBUS);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("a SIGBUS sent by a child: handler ran, si_code %s\n",
           sent_code == SI_USER ? "SI_USER" : "other");
    munmap(m, 4096);
    close(fd);
}

int main(int argc, char **argv) {
    char name[] = "/tmp/tern-shared-XXXXXX";
    int fd = mkstemp(name);
    if (fd < 0) {
        perror("mkstemp");
        return 1;
    }
    close(fd);
    path = name;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && !strcmp(argv[1], "sent-sigbus")) {
        /* Compared with the native build: qemu-riscv64 7.2 takes a SIGBUS sent to it
         * for its own fault and hangs. */
        a_sent_sigbus_reaches_the_handler();
        unlink(name);
        return 0;
    }
    file_is_coherent();
    file_is_shared_with_a_child();
    anonymous_memory_is_shared_across_fork();
    past_the_end_is_sigbus();
    shared_anonymous_memory_keeps_its_size();
    read_only_files_stay_read_only();
    unlink(name);
    return 0;
}
