/* Many processes on one WAL-mode sqlite database at once, without lock step:
 * writers move money between accounts in transactions, readers check in read
 * transactions that the total never changes, one writer checkpoints now and then.
 * A stale or torn view of the WAL index (the `-shm` file every process maps
 * MAP_SHARED) shows as a wrong total, a lost transfer or a corrupt database.
 * Linked against Debian's sqlite 3.40.1 amalgamation (scripts/build-sqlite).
 *
 *   wal_bank DB [WRITERS READERS TRANSFERS]   creates DB, forks the writers and
 *                                            readers, waits, checks
 *   wal_bank DB init                         creates DB only
 *   wal_bank DB writer ID TRANSFERS          one writer (exit status 0: all done)
 *   wal_bank DB reader ROUNDS                one reader (exit status 0: all good)
 *   wal_bank DB check WRITERS TRANSFERS      the totals and integrity_check
 * (the single roles let processes under different emulators share one database).
 *
 * The interleaving varies from run to run; the output does not: one line per
 * process, then the totals and integrity_check. Same output expected from
 * qemu-riscv64 and tern exec. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sqlite3.h"

#define ACCOUNTS 50
#define START 1000

static const char *path;

/* Waits a millisecond and retries, up to a minute: the amalgamation is built
 * without HAVE_USLEEP, so its own busy_timeout sleeps whole seconds. */
static int busy(void *arg, int n)
{
    (void)arg;
    if (n >= 60000)
        return 0;
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
    return 1;
}

static sqlite3 *open_db(void)
{
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        fprintf(stderr, "open: %s\n", sqlite3_errmsg(db));
        _exit(2);
    }
    sqlite3_busy_handler(db, busy, NULL);
    return db;
}

static int exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "[%d] %s: error %d: %s\n", (int)getpid(), sql, rc, err ? err : "?");
        sqlite3_free(err);
    }
    return rc;
}

static sqlite3_int64 one(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    sqlite3_int64 v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "prepare %s: %s\n", sql, sqlite3_errmsg(db));
        return -1;
    }
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        fprintf(stderr, "step %s: %s\n", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return v;
}

/* Exit status 0 when every transfer committed. */
static int writer(int id, int transfers)
{
    sqlite3 *db = open_db();
    unsigned x = 2463534242u + (unsigned)id * 7919u;
    char sql[256];
    for (int i = 0; i < transfers; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        int from = 1 + x % ACCOUNTS, to = 1 + (x / ACCOUNTS) % ACCOUNTS, amount = 1 + x % 37;
        snprintf(sql, sizeof sql,
                 "BEGIN IMMEDIATE;"
                 "UPDATE account SET balance = balance - %d WHERE id = %d;"
                 "UPDATE account SET balance = balance + %d WHERE id = %d;"
                 "INSERT INTO log(writer, n) VALUES (%d, %d);"
                 "COMMIT;",
                 amount, from, amount, to, id, i);
        if (exec(db, sql) != SQLITE_OK) {
            exec(db, "ROLLBACK");
            return 1;
        }
        /* A checkpoint now and then (busy or partial while others read: fine). */
        if (id == 0 && i % 25 == 24)
            sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        if (i % 8 == 0)
            sched_yield();
    }
    return sqlite3_close(db) == SQLITE_OK ? 0 : 1;
}

/* Exit status 0 when every read transaction saw the right total and a
 * log consistent with it. */
static int reader(int rounds)
{
    sqlite3 *db = open_db();
    int bad = 0;
    for (int i = 0; i < rounds; i++) {
        if (exec(db, "BEGIN") != SQLITE_OK)
            return 1;
        sqlite3_int64 total = one(db, "SELECT sum(balance) FROM account");
        sqlite3_int64 logged = one(db, "SELECT count(*) FROM log");
        sqlite3_int64 again = one(db, "SELECT sum(balance) FROM account");
        sqlite3_int64 logged2 = one(db, "SELECT count(*) FROM log");
        if (total != ACCOUNTS * START || again != total || logged2 != logged || logged < 0)
            bad++;
        if (exec(db, "COMMIT") != SQLITE_OK)
            return 1;
        sched_yield();
    }
    if (bad)
        fprintf(stderr, "reader: %d bad snapshots\n", bad);
    return sqlite3_close(db) == SQLITE_OK && bad == 0 ? 0 : 1;
}

static void unlink_db(void)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    char name[4096];
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
        unlink(name);
    }
}

/* Creates the database; returns the open connection. */
static sqlite3 *init(void)
{
    char sql[512];
    unlink_db();
    sqlite3 *db = open_db();
    if (exec(db, "PRAGMA journal_mode=WAL;"
                 "CREATE TABLE account(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);"
                 "CREATE TABLE log(writer INTEGER, n INTEGER, PRIMARY KEY (writer, n));") != SQLITE_OK)
        exit(1);
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
             " INSERT INTO account SELECT i, %d FROM n",
             ACCOUNTS, START);
    if (exec(db, sql) != SQLITE_OK)
        exit(1);
    printf("accounts %lld, total %lld\n", one(db, "SELECT count(*) FROM account"),
           one(db, "SELECT sum(balance) FROM account"));
    fflush(stdout);
    return db;
}

/* Prints the totals and integrity_check, and closes db. */
static void check(sqlite3 *db, int writers, int transfers)
{
    char sql[256];
    printf("total %lld\n", one(db, "SELECT sum(balance) FROM account"));
    printf("transfers %lld\n", one(db, "SELECT count(*) FROM log"));
    snprintf(sql, sizeof sql, "SELECT count(*) FROM log WHERE n < %d AND writer < %d", transfers,
             writers);
    printf("each writer complete %s\n",
           one(db, sql) == (sqlite3_int64)writers * transfers ? "yes" : "no");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW)
            printf("integrity %s\n", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    printf("close %s\n", sqlite3_close(db) == SQLITE_OK ? "ok" : "failed");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: wal_bank DB [WRITERS READERS TRANSFERS | init | writer ID "
                        "TRANSFERS | reader ROUNDS | check WRITERS TRANSFERS]\n");
        return 2;
    }
    path = argv[1];
    const char *mode = argc > 2 ? argv[2] : "";
    if (strcmp(mode, "init") == 0) {
        sqlite3_close(init());
        return 0;
    }
    if (strcmp(mode, "writer") == 0 && argc == 5)
        return writer(atoi(argv[3]), atoi(argv[4]));
    if (strcmp(mode, "reader") == 0 && argc == 4)
        return reader(atoi(argv[3]));
    if (strcmp(mode, "check") == 0 && argc == 5) {
        check(open_db(), atoi(argv[3]), atoi(argv[4]));
        return 0;
    }
    int writers = argc > 2 ? atoi(argv[2]) : 3;
    int readers = argc > 3 ? atoi(argv[3]) : 2;
    int transfers = argc > 4 ? atoi(argv[4]) : 100;
    if (writers < 1 || writers > 16 || readers < 0 || readers > 16 || transfers < 1) {
        fprintf(stderr, "wal_bank: bad arguments\n");
        return 2;
    }
    /* This connection stays open (idle) throughout, as a third kind of user. */
    sqlite3 *db = init();
    pid_t pids[32];
    int n = 0;
    for (int i = 0; i < writers + readers; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0)
            _exit(i < writers ? writer(i, transfers) : reader(transfers));
        pids[n++] = pid;
    }
    for (int i = 0; i < n; i++) {
        int status;
        if (waitpid(pids[i], &status, 0) != pids[i]) {
            perror("waitpid");
            return 1;
        }
        printf("%s %d: %s\n", i < writers ? "writer" : "reader", i < writers ? i : i - writers,
               WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "FAILED");
    }
    check(db, writers, transfers);
    return 0;
}
