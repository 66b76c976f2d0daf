/* Marker generator for start-up measurements: execs "/bin/true TAG-<n>" every
 * INTERVAL_MS milliseconds until killed, so the harness can time how long a freshly
 * launched tracer takes to report its first event. Exec-only tracers are detected
 * by the tag in argv, exit-only tracers by ppid == this process's pid. A C loop
 * rather than node's spawn(), whose own latency (forking a 50 MB process) would
 * blur the measurement. The strings are on the stack (see exec.c for why not in
 * .rodata). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s TAG INTERVAL_MS\n", argv[0]);
    return 2;
  }
  long ms = atol(argv[2]);
  struct timespec gap = {ms / 1000, (ms % 1000) * 1000000L};
  char arg[256];
  char file[] = "/bin/true";
  char *envp[] = {NULL};
  for (long n = 0;; n++) {
    snprintf(arg, sizeof arg, "%s-%ld", argv[1], n);
    pid_t p = fork();
    if (p < 0) { perror("fork"); return 1; }
    if (p == 0) {
      char *args[] = {file, arg, NULL};
      execve(args[0], args, envp);
      _exit(127);
    }
    waitpid(p, NULL, 0);
    nanosleep(&gap, NULL);
  }
}
