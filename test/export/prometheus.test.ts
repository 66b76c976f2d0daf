// `tsbpf trace --metrics` scraped by a real Prometheus (Debian's, on loopback): after a
// workload of N execs, tsbpf_events_total{type="exec"} has risen by N, less what the
// tracer counted as lost. The workload is the traced command itself (`-- sh …`), so the
// other processes of a shared machine do not count; it blocks on FIFOs (read is a shell
// builtin: no exec) so the baseline and the final value are both scraped while idle.

import { spawnSync } from "node:child_process";
import {
  closeSync,
  constants,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DEFAULT_RING_SIZE } from "../../src/tracker/bpf-load.ts";
import { CLI } from "../helpers/cli.ts";
import { inCI, privileged, ROOT_DIR } from "../helpers/env.ts";
import { freePort, have, Proc, promQuery, startPrometheus, until } from "./servers.ts";

const N = 200;
const ok = privileged("tsbpf trace --metrics with Prometheus");
if (ok && !have("prometheus") && inCI)
  throw new Error("prometheus is not installed (scripts/setup.sh installs it)");

/** Lets a workload blocked on `fifo` go on, if one is (cleanup after a failure). */
function releaseIfWaiting(fifo: string): void {
  try {
    const fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    writeSync(fd, "go\n");
    closeSync(fd);
  } catch {
    // ENXIO: nobody is reading it.
  }
}

async function release(fifo: string, trace: Proc): Promise<void> {
  // A blocking open of a FIFO for writing waits for a reader, and would freeze this
  // process for good if the traced workload never started: open with O_NONBLOCK, which
  // fails with ENXIO until the reader is there, and retry while the tracer runs.
  await until(`the workload to open ${fifo}`, () => {
    if (!trace.running) throw new Error(`trace exited:\n${trace.out}`);
    try {
      const fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
      writeSync(fd, "go\n");
      closeSync(fd);
      return true;
    } catch {
      return undefined;
    }
  });
}

/** `tsbpf trace --json -o /dev/null --metrics 127.0.0.1:PORT -- sh -c SCRIPT`. */
function traceWithMetrics(port: number, script: string): Proc {
  return new Proc(
    process.execPath,
    [
      ...CLI,
      "trace",
      "--json",
      "-o",
      "/dev/null",
      "--metrics",
      `127.0.0.1:${port}`,
      "--",
      "sh",
      "-c",
      script,
    ],
    { cwd: ROOT_DIR },
  );
}

test(`tsbpf_events_total{type="exec"} rises by ${N} in Prometheus`, async () => {
  if (!ok || !have("prometheus")) return;
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-export-prom-"));
  const go = join(dir, "go");
  const end = join(dir, "end");
  spawnSync("mkfifo", [go, end]);
  const port = await freePort();
  let trace: Proc | undefined;
  let prom: Proc | undefined;
  try {
    const script = `read a < ${go}; i=0; while [ $i -lt ${N} ]; do /bin/true; i=$((i+1)); done; read b < ${end}`;
    trace = traceWithMetrics(port, script);
    const p = await startPrometheus(dir, `127.0.0.1:${port}`);
    prom = p.proc;
    const execs = async () =>
      (await promQuery(p.api, 'tsbpf_events_total{type="exec",job="tsbpf"}'))[0]?.value;
    const lost = async () => {
      const r = await promQuery(p.api, 'sum(tsbpf_lost_events_total{type="exec"}) or vector(0)');
      return r[0]?.value ?? 0;
    };
    // Scraped while the workload waits: the gate's exec of sh (if seen) is the baseline.
    const before = await until(
      "a first scrape of the tracer",
      async () => {
        if (!trace?.running) throw new Error(`trace exited:\n${trace?.out}`);
        return execs();
      },
      120_000,
    );
    const lostBefore = await lost();
    await release(go, trace);
    const after = await until(
      `${N} more execs in Prometheus`,
      async () => {
        const v = await execs();
        const l = await lost();
        return v !== undefined && v + (l - lostBefore) >= before + N ? v : undefined;
      },
      120_000,
    );
    const lostAfter = await lost();
    assert.is(
      after - before + (lostAfter - lostBefore),
      N,
      `before=${before} after=${after} lost=${lostAfter - lostBefore}`,
    );
    // The other families a dashboard needs are there too.
    for (const name of [
      "tsbpf_process_table_entries",
      "tsbpf_ringbuf_size_bytes",
      "tsbpf_drain_latency_seconds_count",
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
    ]) {
      const r = await promQuery(p.api, name);
      assert.ok(r.length > 0 && Number.isFinite(r[0]?.value), `${name} scraped`);
    }
    const fill = await promQuery(p.api, "tsbpf_ringbuf_size_bytes");
    assert.is(fill[0]?.value, DEFAULT_RING_SIZE);
    // Prometheus parsed every line: a scrape error would leave `up` at 0.
    const up = await promQuery(p.api, 'up{job="tsbpf"}');
    assert.is(up[0]?.value, 1);
    await release(end, trace);
    const code = await trace.done;
    assert.is(code, 0, trace.out);
  } finally {
    await trace?.stop("SIGKILL");
    // A workload the tracer left behind waits on its FIFOs: let it run to its end.
    releaseIfWaiting(go);
    releaseIfWaiting(end);
    await prom?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("with kernel.bpf_stats_enabled=1: per-program BPF run time and run count of handle_exec", async () => {
  if (!ok) return;
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-export-stats-"));
  const go = join(dir, "go");
  const end = join(dir, "end");
  spawnSync("mkfifo", [go, end]);
  const port = await freePort();
  const prev = readFileSync("/proc/sys/kernel/bpf_stats_enabled", "utf8").trim();
  let trace: Proc | undefined;
  try {
    // A global knob: on only for the seconds this test runs, then restored.
    writeFileSync("/proc/sys/kernel/bpf_stats_enabled", "1");
    const script = `read a < ${go}; for i in 1 2 3 4 5 6 7 8 9 10; do /bin/true; done; read b < ${end}`;
    trace = traceWithMetrics(port, script);
    await release(go, trace);
    const metric = (text: string, name: string) => {
      const m = new RegExp(`^${name}\\{program="handle_exec"\\} (\\S+)$`, "m").exec(text);
      return m ? Number(m[1]) : undefined;
    };
    const text = await until("handle_exec's runs in /metrics", async () => {
      const r = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
      const t = await r.text();
      return (metric(t, "tsbpf_bpf_program_runs_total") ?? 0) >= 10 ? t : undefined;
    });
    assert.match(text, /^tsbpf_bpf_stats_enabled 1$/m);
    assert.ok((metric(text, "tsbpf_bpf_program_run_time_seconds_total") ?? 0) > 0, text);
    await release(end, trace);
    assert.is(await trace.done, 0, trace.out);
  } finally {
    writeFileSync("/proc/sys/kernel/bpf_stats_enabled", prev);
    await trace?.stop("SIGKILL");
    releaseIfWaiting(go);
    releaseIfWaiting(end);
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
