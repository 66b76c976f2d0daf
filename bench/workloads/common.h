/* Shared argument parsing and reporting for the bench workload generators.
 * Each generator runs for a count (-n N) or a duration (-d SECONDS), whichever
 * comes first, and prints one line the bench harness parses:
 *   workload=<name> pid=<pid> count=<ops> elapsed_s=<s> rate=<ops/s> [extra]
 * The pid lets the harness pick this run's events out of a tracer's output
 * (children have ppid == pid). */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct opts {
  long count;      /* stop after this many operations (0: no limit) */
  double duration; /* stop after this many seconds (0: no limit) */
  long argbytes;   /* exec workloads: approximate bytes of argv to pass */
  const char *tag; /* exec workloads: argv[1], so runs can be told apart */
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(const char *prog) {
  fprintf(stderr, "usage: %s [-n COUNT] [-d SECONDS] [-a ARGV_BYTES] [-t TAG]\n", prog);
  exit(2);
}

static struct opts parse_opts(int argc, char **argv) {
  struct opts o = {0, 0, 0, "tsbpf-bench"};
  int c;
  while ((c = getopt(argc, argv, "n:d:a:t:")) != -1) {
    switch (c) {
    case 'n': o.count = atol(optarg); break;
    case 'd': o.duration = atof(optarg); break;
    case 'a': o.argbytes = atol(optarg); break;
    case 't': o.tag = optarg; break;
    default: usage(argv[0]);
    }
  }
  if (o.count <= 0 && o.duration <= 0) usage(argv[0]);
  return o;
}

/* True once the run should stop. Checking the clock every op is cheap next to
 * a fork (~50 us here), so no batching is needed. */
static int done(const struct opts *o, long ops, double t0) {
  if (o->count > 0 && ops >= o->count) return 1;
  if (o->duration > 0 && now_s() - t0 >= o->duration) return 1;
  return 0;
}

static void report(const char *name, long ops, double t0, const char *extra) {
  double el = now_s() - t0;
  printf("workload=%s pid=%d count=%ld elapsed_s=%.6f rate=%.1f%s%s\n", name, (int)getpid(), ops, el,
         el > 0 ? ops / el : 0.0, extra ? " " : "", extra ? extra : "");
  fflush(stdout);
}
#endif
