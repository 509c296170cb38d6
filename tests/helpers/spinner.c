/*
 * A test process: K threads (argv[1], default 6, the main thread
 * included), of which the first S (argv[2], default 2) spin and the rest
 * sleep, waking once a second (argv[4] "block": asleep for good, never
 * waking).  Runs until killed, for argv[3] seconds (default 300), or
 * until its parent dies.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static volatile int stop;

static void *spin(void *arg)
{
	prctl(PR_SET_NAME, "hot", 0, 0, 0);
	(void)arg;
	while (!stop)
		;
	return NULL;
}

static void *idle(void *arg)
{
	prctl(PR_SET_NAME, "idle", 0, 0, 0);
	(void)arg;
	while (!stop)
		sleep(1);
	return NULL;
}

static void *blocked(void *arg)
{
	prctl(PR_SET_NAME, "blocked", 0, 0, 0);
	(void)arg;
	for (;;)
		pause();   /* no handler: only a fatal signal ends it */
	return NULL;
}

int main(int argc, char **argv)
{
	int k = argc > 1 ? atoi(argv[1]) : 6;
	int s = argc > 2 ? atoi(argv[2]) : 2;
	int secs = argc > 3 ? atoi(argv[3]) : 300;
	void *(*rest)(void *) = argc > 4 && strcmp(argv[4], "block") == 0 ? blocked : idle;
	/* die with the test that started it, even if the test is killed or an
	 * assertion skips its cleanup */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() == 1)
		return 1;
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 * 1024);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	for (int i = 1; i < k; i++)
		if (pthread_create(&t, &a, i <= s ? spin : rest, NULL) != 0)
			return 1;
	printf("ready\n");
	fflush(stdout);
	sleep((unsigned)secs);
	stop = 1;
	return 0;
}
