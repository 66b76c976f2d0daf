/* Fork storm: fork + _exit(0) + wait. Each op produces one fork and one process
 * exit, without the cost of exec, so it stresses a tracer's per-event path. */
#include <sys/wait.h>
#include "common.h"

int main(int argc, char **argv) {
  struct opts o = parse_opts(argc, argv);
  long ops = 0;
  double t0 = now_s();
  while (!done(&o, ops, t0)) {
    pid_t p = fork();
    if (p < 0) { perror("fork"); return 1; }
    if (p == 0) _exit(0);
    int st;
    if (waitpid(p, &st, 0) < 0) { perror("waitpid"); return 1; }
    ops++;
  }
  report("fork", ops, t0, NULL);
  return 0;
}
