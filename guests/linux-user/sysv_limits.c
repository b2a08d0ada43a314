/* Tries to make the SysV IPC namespace hold ever more: semaphore sets, queues
 * filled with messages, shared-memory segments touched page by page, until the
 * calls refuse. Prints what it got (tern's limits, see crate::ipc: used by the test
 * that host memory stays bounded). Removes everything at the end. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

static int sems[100000], queues[100000], segs[100000];

int main(void)
{
	int ns = 0, nq = 0, nm = 0, nseg = 0;
	long shm_bytes = 0;
	int e;
	while ((sems[ns] = semget(IPC_PRIVATE, 250, 0600)) >= 0 && ns < 99999)
		ns++;
	e = errno;
	printf("semaphore sets: %d, then %s\n", ns, e == ENOSPC ? "ENOSPC" : strerror(e));
	while ((queues[nq] = msgget(IPC_PRIVATE, 0600)) >= 0 && nq < 99999)
		nq++;
	e = errno;
	printf("queues: %d, then %s\n", nq, e == ENOSPC ? "ENOSPC" : strerror(e));
	struct {
		long mtype;
		char text[1];
	} m = { 1, { 'x' } };
	for (int q = 0; q < nq; q++)
		while (msgsnd(queues[q], &m, 0, IPC_NOWAIT) == 0)
			nm++;
	printf("empty messages queued: %d, then %s\n", nm, errno == EAGAIN ? "EAGAIN" : strerror(errno));
	const long seg = 4 << 20;
	while ((segs[nseg] = shmget(IPC_PRIVATE, seg, 0600)) >= 0 && nseg < 99999) {
		char *p = shmat(segs[nseg], NULL, 0);
		if (p == (void *)-1)
			break;
		memset(p, 1, seg);
		shmdt(p);
		shm_bytes += seg;
		nseg++;
	}
	e = errno;
	printf("shared memory: %ld MiB, then %s\n", shm_bytes >> 20, e == ENOSPC ? "ENOSPC" : strerror(e));
	for (int i = 0; i < ns; i++)
		semctl(sems[i], 0, IPC_RMID);
	for (int i = 0; i < nq; i++)
		msgctl(queues[i], IPC_RMID, NULL);
	for (int i = 0; i < nseg; i++)
		shmctl(segs[i], IPC_RMID, NULL);
	return 0;
}
