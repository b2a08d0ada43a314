/* Tries what a `tern exec --policy` file forbids (crates/tern/tests/exec_policy.rs).
 *
 *   policy readonly RO RW   every path-taking call that writes, creates, removes or
 *                           changes metadata, aimed at the read-only tree RO directly,
 *                           through dirfds and "..", through links placed in the
 *                           writable directory RW, and through descriptors: each must
 *                           fail with EROFS. RO holds f ("orig") and sub/g; RW is
 *                           empty. Reads in RO and writes in RW must still work.
 *   policy deny             getppid must fail with EACCES, mkdir with ENOSPC.
 *   policy connect OK BAD UNIX_OK UNIX_BAD
 *                           TCP to 127.0.0.1:OK connects; to 127.0.0.1:BAD and UDP
 *                           sendto BAD fail with ENETUNREACH; Unix UNIX_OK connects,
 *                           UNIX_BAD fails.
 *   policy exec             runs itself again as "policy child" with execve.
 *   policy child            getppid must fail with EACCES (the policy survived execve).
 *   policy race RO RW SECS  one thread creates, writes and removes names below RW/a
 *                           while another swaps RW/a between a directory and a
 *                           link to RO, for SECS seconds (the tree must not change).
 *   policy hot              spends about 95% of its instructions in spin_hot and 5%
 *                           in spin_cold (for the insn-count plugin).
 *   policy rounds N         N rounds, 100 ms apart: each tries getppid and prints
 *                           "round I getppid denied" (EACCES) or "round I getppid
 *                           allowed" (for a policy across snapshot and restore).
 *   policy touch            touch_array stores 64 longs into a global array and
 *                           loads them back (for the mem-trace and coverage
 *                           plugins); prints "ok touch ADDR" with the array's address.
 *
 * Prints "ok WHAT" or "FAIL WHAT: ..." per check; the exit status is the number of
 * failures. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

static int failures;

static void expect(const char *what, long r, int want_errno) {
    int e = errno;
    if (want_errno == 0) {
        if (r >= 0) {
            printf("ok %s\n", what);
        } else {
            printf("FAIL %s: -1 %s, expected success\n", what, strerror(e));
            failures++;
        }
        return;
    }
    if (r >= 0) {
        printf("FAIL %s: succeeded, expected %s\n", what, strerror(want_errno));
        failures++;
    } else if (e != want_errno) {
        printf("FAIL %s: %s, expected %s\n", what, strerror(e), strerror(want_errno));
        failures++;
    } else {
        printf("ok %s\n", what);
    }
}

static char *join(const char *a, const char *b) {
    char *s;
    if (asprintf(&s, "%s/%s", a, b) < 0) exit(99);
    return s;
}

#define EROFS_(what, call) do { errno = 0; long r_ = (long)(call); expect(what, r_, EROFS); } while (0)
#define OK_(what, call) do { errno = 0; long r_ = (long)(call); expect(what, r_, 0); } while (0)

static int readonly(const char *ro, const char *rw) {
    char *f = join(ro, "f"), *sub = join(ro, "sub"), *g = join(sub, "g");
    char *newf = join(ro, "new");
    char *rwf = join(rw, "file");
    /* Links in the writable directory that lead into the tree. */
    char *link_f = join(rw, "link-f"), *link_dir = join(rw, "link-dir");
    char *dangling = join(rw, "dangling");
    char *via_dir = join(link_dir, "f");
    OK_("symlink rw/link-f", symlink(f, link_f));
    OK_("symlink rw/link-dir", symlink(ro, link_dir));
    OK_("symlink rw/dangling", symlink(newf, dangling));
    int rwfd = open(rwf, O_CREAT | O_WRONLY, 0644);
    OK_("create rw/file", rwfd);
    OK_("write rw/file", write(rwfd, "x", 1));
    close(rwfd);

    /* Reads still work, and O_CREAT of an existing file without writing. */
    char buf[16] = {0};
    int rd = open(f, O_RDONLY);
    OK_("open ro/f for reading", rd);
    OK_("read ro/f", read(rd, buf, sizeof buf - 1));
    if (strcmp(buf, "orig") != 0) { printf("FAIL read ro/f: %s\n", buf); failures++; }
    int cr = open(f, O_CREAT | O_RDONLY, 0644);
    OK_("open ro/f O_CREAT without writing", cr);
    close(cr);
    int subfd = open(sub, O_RDONLY | O_DIRECTORY);
    OK_("open ro/sub", subfd);
    int ropath = open(f, O_PATH);
    OK_("open ro/f O_PATH", ropath);
    int ropath2 = open(f, O_PATH | O_WRONLY | O_TRUNC);
    OK_("open ro/f O_PATH|O_WRONLY|O_TRUNC (Linux ignores them)", ropath2);
    close(ropath2);

    /* open/openat/creat. */
    EROFS_("open O_WRONLY", open(f, O_WRONLY));
    EROFS_("open O_RDWR", open(f, O_RDWR));
    EROFS_("open O_RDONLY|O_TRUNC", open(f, O_RDONLY | O_TRUNC));
    EROFS_("open O_APPEND", open(f, O_WRONLY | O_APPEND));
    EROFS_("open O_CREAT new", open(newf, O_CREAT | O_WRONLY, 0644));
    EROFS_("open O_CREAT|O_RDONLY new", open(newf, O_CREAT | O_RDONLY, 0644));
    EROFS_("open O_CREAT|O_EXCL new", open(newf, O_CREAT | O_EXCL | O_WRONLY, 0644));
    EROFS_("creat", creat(newf, 0644));
    EROFS_("openat(sub, ../f)", openat(subfd, "../f", O_WRONLY));
    EROFS_("openat(sub, g)", openat(subfd, "g", O_RDWR));
    EROFS_("openat(sub, ../sub/./../new) O_CREAT", openat(subfd, "../sub/./../new", O_CREAT | O_WRONLY, 0644));
    EROFS_("open rw/link-f (link into the tree)", open(link_f, O_WRONLY));
    EROFS_("open rw/link-dir/f", open(via_dir, O_WRONLY));
    EROFS_("open rw/dangling O_CREAT (link to a new name in the tree)", open(dangling, O_CREAT | O_WRONLY, 0644));
    EROFS_("open O_TMPFILE in the tree", open(ro, O_TMPFILE | O_WRONLY, 0600));
    char procpath[64];
    snprintf(procpath, sizeof procpath, "/proc/self/fd/%d/g", subfd);
    errno = 0;
    long pr = open(procpath, O_WRONLY);
    if (pr >= 0) { printf("FAIL open /proc/self/fd/N/g: succeeded\n"); failures++; }
    else printf("ok open /proc/self/fd/N/g refused\n");

    /* Names: mkdir, mknod, symlink, link, unlink, rmdir, rename. */
    EROFS_("mkdir", mkdir(join(ro, "d"), 0755));
    EROFS_("mkdirat(sub, ../d)", mkdirat(subfd, "../d", 0755));
    EROFS_("mkdir through rw/link-dir", mkdir(join(link_dir, "d"), 0755));
    EROFS_("mknod fifo", mknod(join(ro, "fifo"), S_IFIFO | 0644, 0));
    EROFS_("mkfifoat(sub)", mkfifoat(subfd, "fifo", 0644));
    EROFS_("symlink into the tree", symlink("x", join(ro, "s")));
    EROFS_("symlinkat(sub)", symlinkat("x", subfd, "s"));
    EROFS_("link into the tree", link(rwf, join(ro, "hl")));
    EROFS_("link out of the tree", link(f, join(rw, "hl")));
    EROFS_("linkat AT_EMPTY_PATH out of the tree", linkat(ropath, "", AT_FDCWD, join(rw, "hl2"), AT_EMPTY_PATH));
    EROFS_("unlink", unlink(f));
    EROFS_("unlinkat(sub, g)", unlinkat(subfd, "g", 0));
    EROFS_("unlink through rw/link-dir", unlink(via_dir));
    EROFS_("rmdir", rmdir(sub));
    EROFS_("rmdir the tree itself", rmdir(ro));
    EROFS_("unlinkat AT_REMOVEDIR", unlinkat(AT_FDCWD, sub, AT_REMOVEDIR));
    EROFS_("rename out of the tree", rename(f, join(rw, "moved")));
    EROFS_("rename into the tree", rename(rwf, join(ro, "moved")));
    EROFS_("rename the tree itself", rename(ro, join(rw, "tree")));
    /* Moving an ancestor of the tree would move the tree. */
    char *parent = strdup(ro);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = 0;
        char *moved;
        if (asprintf(&moved, "%s-moved", parent) < 0) return 99;
        EROFS_("rename an ancestor of the tree", rename(parent, moved));
        OK_("mkdir rw/other", mkdir(join(rw, "other"), 0755));
        EROFS_("exchange an ancestor of the tree", renameat2(AT_FDCWD, join(rw, "other"), AT_FDCWD, parent, RENAME_EXCHANGE));
    } else {
        printf("ok (the tree's parent is /: no ancestor to move)\n");
    }
    EROFS_("renameat2 RENAME_EXCHANGE", renameat2(AT_FDCWD, rwf, subfd, "g", RENAME_EXCHANGE));
    EROFS_("renameat(sub, ../f)", renameat(subfd, "../f", AT_FDCWD, join(rw, "moved")));

    /* Metadata and contents through paths. */
    EROFS_("truncate", truncate(f, 0));
    EROFS_("truncate rw/link-f", truncate(link_f, 0));
    EROFS_("truncate sub/g", truncate(g, 0));
    EROFS_("chmod", chmod(f, 0777));
    EROFS_("chmod rw/link-f", chmod(link_f, 0777));
    EROFS_("chmod the tree", chmod(ro, 0700));
    EROFS_("fchmodat(sub, ../f)", fchmodat(subfd, "../f", 0777, 0));
    EROFS_("chown", chown(f, getuid(), getgid()));
    EROFS_("lchown", lchown(f, getuid(), getgid()));
    EROFS_("fchownat AT_EMPTY_PATH", fchownat(ropath, "", getuid(), getgid(), AT_EMPTY_PATH));
    EROFS_("utimensat", utimensat(AT_FDCWD, f, NULL, 0));
    EROFS_("utimensat(sub, g)", utimensat(subfd, "g", NULL, AT_SYMLINK_NOFOLLOW));
    EROFS_("utimensat rw/link-f", utimensat(AT_FDCWD, link_f, NULL, 0));
    EROFS_("futimens", futimens(rd, NULL));
    EROFS_("setxattr", setxattr(f, "user.k", "v", 1, 0));
    EROFS_("lsetxattr", lsetxattr(f, "user.k", "v", 1, 0));
    EROFS_("fsetxattr", fsetxattr(rd, "user.k", "v", 1, 0));
    EROFS_("removexattr", removexattr(f, "user.k"));
    EROFS_("fremovexattr", fremovexattr(rd, "user.k"));
    EROFS_("fchmod", fchmod(rd, 0777));
    EROFS_("fchown", fchown(rd, getuid(), getgid()));

    /* A Unix socket name in the tree. */
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    snprintf(un.sun_path, sizeof un.sun_path, "%s/sock", ro);
    EROFS_("bind a Unix socket in the tree", bind(s, (struct sockaddr *)&un, sizeof un));
    close(s);

    /* Relative to a working directory inside the tree. */
    OK_("chdir ro/sub", chdir(sub));
    EROFS_("open ../f from inside", open("../f", O_WRONLY));
    EROFS_("mkdir ./d from inside", mkdir("d", 0755));
    EROFS_("rename g to ../../escaped", rename("g", "../../escaped"));
    OK_("chdir back", chdir("/"));

    /* Writing outside still works. */
    OK_("mkdir rw/d", mkdir(join(rw, "d"), 0755));
    OK_("rename in rw", rename(rwf, join(rw, "file2")));
    OK_("chmod rw/file2", chmod(join(rw, "file2"), 0600));
    return failures;
}

static int connect_to(int family, int type, const void *addr, socklen_t len) {
    int s = socket(family, type, 0);
    if (s < 0) return -1;
    int r = connect(s, addr, len);
    int e = errno;
    close(s);
    errno = e;
    return r;
}

static int do_connect(int ok, int bad, const char *unix_ok, const char *unix_bad) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    a.sin_port = htons(ok);
    errno = 0;
    expect("connect 127.0.0.1:OK", connect_to(AF_INET, SOCK_STREAM, &a, sizeof a), 0);
    a.sin_port = htons(bad);
    errno = 0;
    expect("connect 127.0.0.1:BAD", connect_to(AF_INET, SOCK_STREAM, &a, sizeof a), ENETUNREACH);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    errno = 0;
    expect("sendto 127.0.0.1:BAD", sendto(u, "x", 1, 0, (struct sockaddr *)&a, sizeof a), ENETUNREACH);
    struct iovec iov = {.iov_base = "x", .iov_len = 1};
    struct msghdr m = {.msg_name = &a, .msg_namelen = sizeof a, .msg_iov = &iov, .msg_iovlen = 1};
    errno = 0;
    expect("sendmsg 127.0.0.1:BAD", sendmsg(u, &m, 0), ENETUNREACH);
    close(u);
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT, .sin6_port = htons(bad)};
    errno = 0;
    expect("connect [::1]:BAD", connect_to(AF_INET6, SOCK_STREAM, &a6, sizeof a6), ENETUNREACH);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    snprintf(un.sun_path, sizeof un.sun_path, "%s", unix_ok);
    errno = 0;
    expect("connect unix OK", connect_to(AF_UNIX, SOCK_STREAM, &un, sizeof un), 0);
    snprintf(un.sun_path, sizeof un.sun_path, "%s", unix_bad);
    errno = 0;
    expect("connect unix BAD", connect_to(AF_UNIX, SOCK_STREAM, &un, sizeof un), ENETUNREACH);
    return failures;
}

static volatile int race_over;
static const char *race_ro, *race_rw;

static void *swapper(void *unused) {
    (void)unused;
    char *a = join(race_rw, "a"), *tmp = join(race_rw, "a.dir");
    while (!race_over) {
        rename(a, tmp);
        symlink(race_ro, a);
        unlink(a);
        rename(tmp, a);
    }
    return NULL;
}

static int race(const char *ro, const char *rw, int secs) {
    race_ro = ro;
    race_rw = rw;
    char *a = join(rw, "a");
    OK_("mkdir rw/a", mkdir(a, 0755));
    char *newf = join(a, "new"), *d = join(a, "d"), *f = join(a, "f");
    pthread_t t;
    pthread_create(&t, NULL, swapper, NULL);
    long tries = 0, made = 0, refused = 0;
    time_t end = time(NULL) + secs;
    while (time(NULL) < end) {
        tries++;
        int fd = open(newf, O_CREAT | O_WRONLY, 0644);
        if (fd >= 0) { made++; write(fd, "x", 1); close(fd); unlink(newf); }
        else if (errno == EROFS) refused++;
        if (mkdir(d, 0755) == 0) rmdir(d);
        fd = open(f, O_WRONLY | O_TRUNC);
        if (fd >= 0) close(fd);
        truncate(f, 0);
        chmod(f, 0600);
        unlink(f);
    }
    race_over = 1;
    pthread_join(t, NULL);
    printf("ok race: %ld tries\n", tries);
    fprintf(stderr, "race: %ld tries, %ld created in rw/a, %ld refused\n", tries, made, refused);
    return failures;
}

/* Loops the compiler cannot fold away. */
__attribute__((noinline)) static unsigned long spin(unsigned long n, unsigned long seed) {
    volatile unsigned long x = seed;
    for (unsigned long i = 0; i < n; i++) x = x * 6364136223846793005UL + 1442695040888963407UL;
    return x;
}

__attribute__((noinline)) unsigned long spin_hot(unsigned long n) { return spin(0, 1) + ({ volatile unsigned long x = 1; for (unsigned long i = 0; i < n; i++) x = x * 6364136223846793005UL + 1; x; }); }
__attribute__((noinline)) unsigned long spin_cold(unsigned long n) { return spin(0, 2) + ({ volatile unsigned long x = 2; for (unsigned long i = 0; i < n; i++) x = x * 6364136223846793005UL + 3; x; }); }

volatile unsigned long touched[64];

__attribute__((noinline)) unsigned long touch_array(void) {
    unsigned long sum = 0;
    for (int i = 0; i < 64; i++) touched[i] = (unsigned long)i * 3;
    for (int i = 0; i < 64; i++) sum += touched[i];
    return sum;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc >= 4 && strcmp(argv[1], "readonly") == 0) return readonly(argv[2], argv[3]);
    if (argc >= 2 && strcmp(argv[1], "deny") == 0) {
        errno = 0;
        expect("getppid denied", syscall(SYS_getppid), EACCES);
        errno = 0;
        expect("mkdir denied", mkdir("/tmp/never-made-by-policy-test", 0755), ENOSPC);
        return failures;
    }
    if (argc >= 6 && strcmp(argv[1], "connect") == 0)
        return do_connect(atoi(argv[2]), atoi(argv[3]), argv[4], argv[5]);
    if (argc >= 2 && strcmp(argv[1], "exec") == 0) {
        execl("/proc/self/exe", "policy", "child", (char *)NULL);
        printf("FAIL execve: %s\n", strerror(errno));
        return 1;
    }
    if (argc >= 2 && strcmp(argv[1], "child") == 0) {
        errno = 0;
        expect("getppid denied after execve", syscall(SYS_getppid), EACCES);
        return failures;
    }
    if (argc >= 5 && strcmp(argv[1], "race") == 0) return race(argv[2], argv[3], atoi(argv[4]));
    if (argc >= 2 && strcmp(argv[1], "hot") == 0) {
        unsigned long r = spin_hot(19000000) + spin_cold(1000000);
        printf("ok hot %lu\n", r & 1);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "rounds") == 0) {
        int n = atoi(argv[2]);
        for (int i = 1; i <= n; i++) {
            errno = 0;
            long r = syscall(SYS_getppid);
            printf("round %d getppid %s\n", i,
                   r == -1 && errno == EACCES ? "denied" : r > 0 ? "allowed" : "failed");
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "touch") == 0) {
        unsigned long sum = touch_array();
        printf("ok touch %#lx %lu\n", (unsigned long)touched, sum);
        return sum == 6048 ? 0 : 1;
    }
    fprintf(stderr, "usage: policy readonly RO RW | deny | connect OK BAD UNIX_OK UNIX_BAD | exec\n");
    return 100;
}
