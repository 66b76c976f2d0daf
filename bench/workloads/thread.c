/* Thread storm: pthread_create + return + join. New threads fire the same fork/exit
 * tracepoints as processes (sched_process_fork/exit), so a tracer that reports only
 * processes must still filter them cheaply; no process events are produced. */
#include <pthread.h>
#include "common.h"

static void *thread_main(void *arg) { return arg; }

int main(int argc, char **argv) {
  struct opts o = parse_opts(argc, argv);
  long ops = 0;
  double t0 = now_s();
  while (!done(&o, ops, t0)) {
    pthread_t t;
    int err = pthread_create(&t, NULL, thread_main, NULL);
    if (err) { fprintf(stderr, "pthread_create: %s\n", strerror(err)); return 1; }
    pthread_join(t, NULL);
    ops++;
  }
  report("thread", ops, t0, NULL);
  return 0;
}
