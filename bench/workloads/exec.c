/* Exec storm: fork + execve("/bin/true", argv) + wait. All argv strings live on
 * the heap: a forked child shares file-backed pages (string literals in .rodata)
 * without their page-table entries, so a tracer that reads argv at execve entry
 * with bpf_probe_read_user (execsnoop, bpftrace) would see them as unreadable;
 * heap (anonymous) pages are copied at fork and stay readable, which is what a
 * shell's argv looks like. argv is
 * {"/bin/true", TAG, pad...}; with -a BYTES the pad arguments (64-byte chunks of
 * [a-z0-9], no spaces so text-mode tracers keep boundaries) bring the argv area,
 * NULs included, to about BYTES. Prints argv_bytes (the exact size of that area,
 * which is what the kernel copies to the new stack) and argc. */
#include <sys/wait.h>
#include "common.h"

#define CHUNK 64

int main(int argc, char **argv) {
  struct opts o = parse_opts(argc, argv);
  long npad = 0, bytes = strlen("/bin/true") + 1 + strlen(o.tag) + 1;
  if (o.argbytes > bytes) npad = (o.argbytes - bytes + CHUNK) / (CHUNK + 1);
  char **args = calloc(npad + 3, sizeof(char *));
  args[0] = strdup("/bin/true");
  args[1] = strdup(o.tag);
  for (long i = 0; i < npad; i++) {
    char *s = malloc(CHUNK + 1);
    for (int j = 0; j < CHUNK; j++) s[j] = "abcdefghijklmnopqrstuvwxyz0123456789"[(i * 7 + j) % 36];
    s[CHUNK] = 0;
    args[2 + i] = s;
    bytes += CHUNK + 1;
  }
  char *envp[] = {NULL};
  long ops = 0;
  double t0 = now_s();
  while (!done(&o, ops, t0)) {
    pid_t p = fork();
    if (p < 0) { perror("fork"); return 1; }
    if (p == 0) {
      execve(args[0], args, envp);
      _exit(127);
    }
    int st;
    if (waitpid(p, &st, 0) < 0) { perror("waitpid"); return 1; }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "exec child failed: status %d\n", st); return 1; }
    ops++;
  }
  char extra[64];
  snprintf(extra, sizeof extra, "argc=%ld argv_bytes=%ld", npad + 2, bytes);
  report("exec", ops, t0, extra);
  return 0;
}
