// The checks a matrix guest runs: each is a shell command run from the repository root
// inside the guest (and on the host with --host). "tests" checks run test files with
// scripts/run-tests.mjs and count their tests; the others count as one.
// Keep the oracle stress tests and the kernel-independent tests (asm, btf, elf, cli) on
// the host: TCG runs 8-19x slower, and they test nothing a kernel changes.
const TSBPF = "node --import tsx src/cli.ts";

export const CHECKS = [
  {
    id: "features",
    title: "feature probes",
    cmd: "node --import tsx scripts/kernel-matrix/features.ts",
  },
  {
    id: "trace-exit",
    title: "trace -- sh -c 'exit 3'",
    // The exit status comes back and the exit event carries it.
    cmd: `out=$(${TSBPF} trace --json -- sh -c 'true; exit 3'); rc=$?; echo "$out"; test $rc -eq 3 && echo "$out" | grep -q '"exit_code":3'`,
  },
  {
    id: "explain",
    title: "explain bpf/process.bpf.o",
    cmd: `${TSBPF} explain bpf/process.bpf.o > /tmp/explain.txt; rc=$?; tail -5 /tmp/explain.txt; exit $rc`,
  },
  {
    id: "load-pin",
    title: "load --pin (fentry/fexit links pinned)",
    cmd: `d=/sys/fs/bpf/tsbpf-matrix-$$; ${TSBPF} load test/fixtures/fentry.bpf.o --pin $d; rc=$?; ls -R $d; test -e $d/links/fentry_getpgid && test -e $d/links/fexit_getpgid; ok=$?; rm -rf $d; test $rc -eq 0 && test $ok -eq 0`,
  },
  {
    id: "tests-probes",
    title: "kprobe/uprobe/fentry/fmod_ret/lsm/tracepoint events",
    kind: "tests",
    cmd: "node scripts/run-tests.mjs test/link/probes test/link/trampoline test/link/attach.test",
  },
  {
    id: "tests-link",
    title: "test/link (every attach kind)",
    kind: "tests",
    cmd: "node scripts/run-tests.mjs test/link/",
  },
  {
    id: "tests-tracer-bpf",
    title: "test/tracer-bpf (the tracer's programs)",
    kind: "tests",
    cmd: "node scripts/run-tests.mjs test/tracer-bpf/",
  },
  {
    id: "tests-trace",
    title: "test/trace (sessions, CLI)",
    kind: "tests",
    cmd: "node scripts/run-tests.mjs test/trace/",
  },
  {
    id: "tests-core",
    title: "test/core (CO-RE against this kernel)",
    kind: "tests",
    cmd: "node scripts/run-tests.mjs test/core/",
  },
];

/** What .ci/run runs in each guest (its time adds to CI's 90-minute budget). */
export const CI_CHECKS = [
  "features",
  "trace-exit",
  "explain",
  "load-pin",
  "tests-probes",
  "tests-tracer-bpf",
];
