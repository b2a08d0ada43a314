/* Two processes on one WAL-mode sqlite database at once, in lock step, linked
 * against Debian's sqlite 3.40.1 amalgamation (scripts/build-sqlite).
 *
 * Process A reads, process B writes. A keeps a read transaction open while B
 * inserts and commits: A still sees its snapshot, a checkpoint by B stops at A's
 * read mark, and after A commits it sees B's rows. Then each holds the write lock
 * while the other is refused (SQLITE_BUSY). All of this goes through the WAL index,
 * the `-shm` file both processes map MAP_SHARED, and the fcntl locks on it.
 *
 *   wal_two DB fork                      creates DB, forks: parent A, child B
 *                                        (pipes keep them in step; one stdout)
 *   wal_two DB setup                     creates DB only
 *   wal_two DB a|b TO_B_FIFO TO_A_FIFO   one side, in step with the other through
 *                                        two named pipes (A and B may then run
 *                                        under different emulators)
 *
 * Every line is prefixed with the side ("A:" or "B:"); the output is deterministic
 * and the same under qemu-riscv64 and tern exec. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sqlite3.h"

static const char *who = "?";
static const char *path;
static int in_fd = -1, out_fd = -1;

static void die(const char *what)
{
    printf("%s: fatal: %s: %s\n", who, what, strerror(errno));
    fflush(stdout);
    _exit(2);
}

/* Hands the turn to the other side and waits until it is ours again. */
static void pass(void)
{
    char c = 't';
    fflush(stdout);
    if (write(out_fd, &c, 1) != 1)
        die("write turn");
    ssize_t n;
    do
        n = read(in_fd, &c, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        die("read turn");
}

/* Gives the turn away for good. */
static void done(void)
{
    char c = 'd';
    fflush(stdout);
    if (write(out_fd, &c, 1) != 1)
        die("write turn");
}

/* Waits for the first turn. */
static void wait_turn(void)
{
    char c;
    ssize_t n;
    do
        n = read(in_fd, &c, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        die("read first turn");
}

static int row(void *label, int n, char **vals, char **names)
{
    (void)names;
    printf("%s: %s", who, (const char *)label);
    for (int i = 0; i < n; i++)
        printf("%s%s", i ? "|" : " ", vals[i] ? vals[i] : "NULL");
    printf("\n");
    return 0;
}

/* Runs sql, printing each row after label, or the error. Returns the result code. */
static int q(sqlite3 *db, const char *label, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, row, (void *)label, &err);
    if (rc != SQLITE_OK) {
        printf("%s: %s -> error %d: %s\n", who, label, rc, err ? err : "?");
        sqlite3_free(err);
    }
    return rc;
}

static sqlite3 *open_db(void)
{
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        printf("%s: open: %s\n", who, sqlite3_errmsg(db));
        fflush(stdout);
        _exit(2);
    }
    /* No busy handler: a lock held by the other side is an immediate SQLITE_BUSY,
     * which keeps the output deterministic. */
    sqlite3_busy_timeout(db, 0);
    return db;
}

static void setup(void)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    char name[4096];
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
        unlink(name);
    }
    who = "setup";
    sqlite3 *db = open_db();
    q(db, "journal_mode", "PRAGMA journal_mode=WAL");
    q(db, "create",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER NOT NULL, s TEXT);"
      "BEGIN;"
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)"
      " INSERT INTO t SELECT i, i * 3, printf('row %d', i) FROM n;"
      "COMMIT;");
    q(db, "rows", "SELECT count(*), sum(v) FROM t");
    sqlite3_close(db);
    fflush(stdout);
}

static void shm_exists(const char *label)
{
    char name[4096];
    struct stat st;
    snprintf(name, sizeof name, "%s-shm", path);
    printf("%s: %s %s\n", who, label, stat(name, &st) == 0 ? "yes" : "no");
}

/* The reader. */
static void side_a(void)
{
    who = "A";
    sqlite3 *db = open_db();
    q(db, "mode", "PRAGMA journal_mode");
    q(db, "begin", "BEGIN");
    q(db, "snapshot", "SELECT count(*), sum(v) FROM t");
    shm_exists("shm file while reading:");
    pass(); /* B inserts, without committing yet */
    q(db, "during B's write", "SELECT count(*), sum(v) FROM t");
    pass(); /* B commits and checkpoints */
    q(db, "after B's commit, same snapshot", "SELECT count(*), sum(v), max(id) FROM t");
    q(db, "commit", "COMMIT");
    q(db, "new snapshot", "SELECT count(*), sum(v), max(id) FROM t");
    q(db, "begin immediate", "BEGIN IMMEDIATE");
    q(db, "insert", "INSERT INTO t(id, v, s) VALUES (5000, 1, 'from A')");
    pass(); /* B is refused the write lock */
    q(db, "commit", "COMMIT");
    pass(); /* B writes, then holds the write lock */
    q(db, "write while B holds the lock", "INSERT INTO t(id, v, s) VALUES (5001, 1, 'A again')");
    pass(); /* B commits, checkpoints, checks */
    q(db, "final", "SELECT count(*), sum(v), max(id) FROM t");
    q(db, "rows by A and B", "SELECT id, s FROM t WHERE id >= 5000 ORDER BY id");
    q(db, "integrity", "PRAGMA integrity_check");
    sqlite3_close(db);
    done();
}

/* The writer. */
static void side_b(void)
{
    who = "B";
    wait_turn();
    sqlite3 *db = open_db();
    q(db, "sees", "SELECT count(*), sum(v) FROM t");
    q(db, "begin immediate", "BEGIN IMMEDIATE");
    q(db, "insert",
      "WITH RECURSIVE n(i) AS (SELECT 1001 UNION ALL SELECT i + 1 FROM n WHERE i < 1500)"
      " INSERT INTO t SELECT i, i * 3, printf('row %d', i) FROM n");
    q(db, "own view before commit", "SELECT count(*), sum(v) FROM t");
    pass(); /* A reads during the write */
    q(db, "commit", "COMMIT");
    q(db, "after commit", "SELECT count(*), sum(v), max(id) FROM t");
    /* A's read mark holds the checkpoint back: not every frame is copied. */
    q(db, "checkpoint while A reads (busy|log|checkpointed)",
      "PRAGMA wal_checkpoint(PASSIVE)");
    pass(); /* A ends its snapshot, takes the write lock */
    q(db, "write while A holds the lock", "INSERT INTO t(id, v, s) VALUES (6000, 1, 'B refused')");
    pass(); /* A commits */
    q(db, "begin immediate", "BEGIN IMMEDIATE");
    q(db, "insert", "INSERT INTO t(id, v, s) VALUES (6001, 2, 'from B')");
    pass(); /* A is refused */
    q(db, "commit", "COMMIT");
    q(db, "sees A's row", "SELECT id, s FROM t WHERE id = 5000");
    q(db, "checkpoint (busy|log|checkpointed)", "PRAGMA wal_checkpoint(TRUNCATE)");
    q(db, "integrity", "PRAGMA integrity_check");
    shm_exists("shm file while both are open:");
    sqlite3_close(db);
    pass(); /* A's last look */
    fflush(stdout);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    if (argc < 3) {
        fprintf(stderr, "usage: wal_two DB fork|setup|a|b [TO_B TO_A]\n");
        return 2;
    }
    path = argv[1];
    const char *mode = argv[2];
    if (strcmp(mode, "setup") == 0) {
        setup();
        return 0;
    }
    if (strcmp(mode, "fork") == 0) {
        int to_b[2], to_a[2];
        setup();
        if (pipe(to_b) || pipe(to_a))
            die("pipe");
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0) {
            in_fd = to_b[0];
            out_fd = to_a[1];
            side_b();
            _exit(0);
        }
        in_fd = to_a[0];
        out_fd = to_b[1];
        side_a();
        int status;
        if (waitpid(pid, &status, 0) != pid)
            die("waitpid");
        printf("B exited: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        return 0;
    }
    if (argc < 5 || (strcmp(mode, "a") && strcmp(mode, "b"))) {
        fprintf(stderr, "usage: wal_two DB a|b TO_B_FIFO TO_A_FIFO\n");
        return 2;
    }
    /* Both open TO_B first: a FIFO open waits for the other end, so the same
     * order on both sides cannot deadlock. */
    if (strcmp(mode, "a") == 0) {
        if ((out_fd = open(argv[3], O_WRONLY)) < 0 || (in_fd = open(argv[4], O_RDONLY)) < 0)
            die("open fifos");
        side_a();
    } else {
        if ((in_fd = open(argv[3], O_RDONLY)) < 0 || (out_fd = open(argv[4], O_WRONLY)) < 0)
            die("open fifos");
        side_b();
    }
    return 0;
}
