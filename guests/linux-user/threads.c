/* Threads: contention on mutexes and condition variables, barriers, TLS, join. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NTHREADS 8
#define ITERS 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long counter;
static atomic_long acounter;
static __thread long tls_value;
static pthread_barrier_t barrier;
static int queue[64], qhead, qtail, done_producing;
static long consumed_sum;

static void *worker(void *arg)
{
	long id = (long)arg;
	tls_value = id * 1000;
	for (int i = 0; i < ITERS; i++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
		atomic_fetch_add(&acounter, 1);
		if (i % 5000 == 0)
			sched_yield();
	}
	pthread_barrier_wait(&barrier);
	return (void *)(tls_value + id);
}

static void *producer(void *arg)
{
	(void)arg;
	for (int i = 1; i <= 10000; i++) {
		pthread_mutex_lock(&lock);
		while ((qtail + 1) % 64 == qhead)
			pthread_cond_wait(&cond, &lock);
		queue[qtail] = i;
		qtail = (qtail + 1) % 64;
		pthread_cond_broadcast(&cond);
		pthread_mutex_unlock(&lock);
	}
	pthread_mutex_lock(&lock);
	done_producing = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void *consumer(void *arg)
{
	(void)arg;
	long sum = 0;
	for (;;) {
		pthread_mutex_lock(&lock);
		while (qhead == qtail && !done_producing)
			pthread_cond_wait(&cond, &lock);
		if (qhead == qtail && done_producing) {
			pthread_mutex_unlock(&lock);
			break;
		}
		sum += queue[qhead];
		qhead = (qhead + 1) % 64;
		pthread_cond_broadcast(&cond);
		pthread_mutex_unlock(&lock);
	}
	pthread_mutex_lock(&lock);
	consumed_sum += sum;
	pthread_mutex_unlock(&lock);
	return NULL;
}

static atomic_int detached_ran;
static void *detached(void *arg)
{
	(void)arg;
	atomic_fetch_add(&detached_ran, 1);
	return NULL;
}

static void *tid_check(void *arg)
{
	(void)arg;
	return (void *)(long)(syscall(SYS_gettid) != getpid());
}

static void *outlives_main(void *arg)
{
	(void)arg;
	usleep(50000);
	printf("a thread outlived main\n");
	fflush(stdout);
	return NULL;
}

int main(void)
{
	pthread_t th[NTHREADS];
	pthread_barrier_init(&barrier, NULL, NTHREADS);
	tls_value = -1;
	for (long i = 0; i < NTHREADS; i++)
		pthread_create(&th[i], NULL, worker, (void *)i);
	long ret_sum = 0;
	for (int i = 0; i < NTHREADS; i++) {
		void *r;
		pthread_join(th[i], &r);
		ret_sum += (long)r;
	}
	printf("counter=%ld atomic=%ld expected=%d\n", counter, (long)acounter, NTHREADS * ITERS);
	printf("thread results=%ld main tls=%ld\n", ret_sum, tls_value);

	pthread_t p, c[3];
	pthread_create(&p, NULL, producer, NULL);
	for (int i = 0; i < 3; i++)
		pthread_create(&c[i], NULL, consumer, NULL);
	pthread_join(p, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(c[i], NULL);
	printf("producer/consumer sum=%ld expected=%ld\n", consumed_sum, 10000L * 10001 / 2);

	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < 4; i++) {
		pthread_t d;
		pthread_create(&d, &attr, detached, NULL);
	}
	while (atomic_load(&detached_ran) < 4)
		usleep(1000);
	printf("detached threads ran: %d\n", (int)atomic_load(&detached_ran));

	pthread_t tc;
	void *r;
	pthread_create(&tc, NULL, tid_check, NULL);
	pthread_join(tc, &r);
	printf("thread tid differs from pid: %ld\n", (long)r);

	/* many short-lived threads */
	long created = 0;
	for (int round = 0; round < 50; round++) {
		pthread_t t[4];
		for (int i = 0; i < 4; i++)
			created += pthread_create(&t[i], NULL, detached, NULL) == 0;
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
	}
	printf("short-lived threads: %ld\n", created);

	/* the main thread ends first; the process lives on until the last thread */
	pthread_t last;
	fflush(stdout);
	pthread_create(&last, NULL, outlives_main, NULL);
	pthread_exit(NULL);
}
