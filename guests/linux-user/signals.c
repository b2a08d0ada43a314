/* Signals: handlers, siginfo, masks, the alternate stack, faults, sigsuspend. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>

static volatile sig_atomic_t got_usr1, got_usr2, got_alrm, depth_max, depth;
static volatile int last_code, on_alt;
static char altstack[65536];
static sigjmp_buf env;

static void h_usr1(int sig)
{
	(void)sig;
	got_usr1++;
	depth++;
	if (depth > depth_max)
		depth_max = depth;
	if (got_usr1 == 1)
		raise(SIGUSR1); /* blocked while in the handler: delivered after return */
	depth--;
}

static void h_info(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	(void)uc;
	got_usr2 = sig;
	last_code = si->si_code;
	char local;
	on_alt = (uintptr_t)&local >= (uintptr_t)altstack && (uintptr_t)&local < (uintptr_t)altstack + sizeof altstack;
}

static void h_alrm(int sig)
{
	(void)sig;
	got_alrm++;
}

static void h_fault(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	last_code = si->si_code;
	siglongjmp(env, sig);
}

/* Skips the faulting instruction through the saved context (ucontext pc). */
static void h_skip(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ctx;
	uc->uc_mcontext.__gregs[REG_PC] += 4;
}

static double fp_in_handler;
static void h_fp(int sig)
{
	(void)sig;
	volatile double x = 1.5;
	for (int i = 0; i < 10; i++)
		x = x * 3.25 + 0.5;
	fp_in_handler = x;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);

	sa.sa_handler = h_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	printf("usr1 handled %d times, max depth %d\n", got_usr1, depth_max);

	/* SA_SIGINFO on the alternate stack */
	stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
	sigaltstack(&ss, NULL);
	sa.sa_sigaction = h_info;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigaction(SIGUSR2, &sa, NULL);
	kill(getpid(), SIGUSR2);
	printf("usr2: sig=%d code=%d (SI_USER=%d) on altstack=%d\n", got_usr2, last_code, SI_USER, on_alt);
	got_usr2 = 0;
	union sigval v = {.sival_int = 7};
	sigqueue(getpid(), SIGUSR2, v);
	printf("sigqueue: code=%d (SI_QUEUE=%d)\n", last_code, SI_QUEUE);

	/* masks: a blocked signal stays pending */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, &old);
	got_usr2 = 0;
	raise(SIGUSR2);
	sigset_t pend;
	sigpending(&pend);
	printf("blocked: handled=%d pending=%d\n", got_usr2 != 0, sigismember(&pend, SIGUSR2));
	sigprocmask(SIG_SETMASK, &old, NULL);
	printf("unblocked: handled=%d\n", got_usr2 != 0);

	/* ignored signals */
	signal(SIGUSR1, SIG_IGN);
	raise(SIGUSR1);
	printf("ignored ok\n");

	/* faults reach handlers */
	sa.sa_sigaction = h_fault;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	if (sigsetjmp(env, 1) == 0)
		*(volatile int *)8 = 1;
	printf("null write: SIGSEGV code=%d\n", last_code);
	if (sigsetjmp(env, 1) == 0)
		__asm__ volatile(".word 0x00000000");
	printf("illegal instruction: SIGILL code=%d\n", last_code);
	if (sigsetjmp(env, 1) == 0) {
		static long words[4];
		__asm__ volatile("amoadd.w zero, zero, (%0)" ::"r"((char *)words + 1));
	}
	printf("misaligned atomic: SIGBUS code=%d\n", last_code);

	/* a handler changes the saved pc through the ucontext */
	sa.sa_sigaction = h_skip;
	sigaction(SIGILL, &sa, NULL);
	__asm__ volatile(".word 0x00000000");
	printf("skipped over an illegal instruction\n");

	/* floating-point state is preserved around handlers */
	signal(SIGUSR1, h_fp);
	volatile double a = 1.0 / 3.0;
	raise(SIGUSR1);
	printf("fp: %.12f %.3f\n", a * 3.0, fp_in_handler);

	/* timers and sigsuspend */
	signal(SIGALRM, h_alrm);
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	sigprocmask(SIG_BLOCK, &set, &old);
	struct itimerval it = {{0, 0}, {0, 20000}};
	setitimer(ITIMER_REAL, &it, NULL);
	sigset_t wait;
	sigemptyset(&wait);
	sigsuspend(&wait);
	printf("alarm via sigsuspend: %d\n", got_alrm);
	sigprocmask(SIG_SETMASK, &old, NULL);
	alarm(1);
	pause();
	printf("alarm via pause: %d\n", got_alrm);

	/* sigwait for a blocked signal */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	raise(SIGUSR2);
	int s = 0;
	sigwait(&set, &s);
	printf("sigwait: %d\n", s);

	/* a restartable read interrupted by a handler with SA_RESTART */
	int p[2];
	pipe(p);
	sa.sa_handler = h_alrm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	if (fork() == 0) {
		usleep(100000);
		write(p[1], "x", 1);
		_exit(0);
	}
	struct itimerval it2 = {{0, 0}, {0, 20000}};
	setitimer(ITIMER_REAL, &it2, NULL);
	char c = 0;
	ssize_t n = read(p[0], &c, 1);
	printf("restarted read: %zd %c (alarms %d)\n", n, c, got_alrm);
	sa.sa_flags = 0;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it2, NULL);
	n = read(p[0], &c, 1);
	printf("interrupted read: %zd errno=%s\n", n, errno == EINTR ? "EINTR" : "other");

	/* default action: terminate by signal (the exit status shows it) */
	signal(SIGTERM, SIG_DFL);
	fflush(stdout);
	raise(SIGTERM);
	printf("not reached\n");
	return 0;
}
