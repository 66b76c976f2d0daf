// A process that existed before the tracer started: its fork and exit are reported
// with its real pid, exec_id matches /proc/<pid>/stat, and the process table seeded
// from /proc marks it pre-existing. Both through the CLI (--pid) and the library.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { ExitEvent, ForkEvent, TraceEvent } from "../../src/tracker/events.ts";
import { openSession } from "../../src/tracker/source.ts";
import { haveTool, privileged } from "../helpers/env.ts";
import { type Built, buildWorkloads, startTrace } from "../workload/oracle.ts";

const enabled = privileged("pre-existing process under tsbpf trace") && haveTool("gcc");
let built: Built | undefined;
const sleepers: ChildProcess[] = [];

/**
 * Starts `workload sleep` and waits until it catches SIGUSR1 (SigCgt bit 10 in
 * /proc/<pid>/status): an earlier SIGUSR1 would kill it (default action).
 */
async function startSleeper(): Promise<{ pid: number; execId: string }> {
  if (!built) built = buildWorkloads();
  const child = spawn(built.workload, ["sleep"], { stdio: "ignore", cwd: built.dir });
  sleepers.push(child);
  const pid = child.pid as number;
  for (let i = 0; i < 500; i++) {
    const cgt = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    if (cgt && (BigInt(`0x${cgt[1]}`) >> 9n) & 1n) {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return { pid, execId: `${pid}-${rest[19]}` }; // field 22: starttime, in USER_HZ ticks
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("sleeper did not start");
}

/** SIGUSR1 makes the sleeper fork; repeat until `seen()` says the tracer reported it. */
async function pokeUntil(pid: number, seen: () => boolean, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (!seen()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`no fork event from ${pid} within ${timeoutMs} ms`);
    process.kill(pid, "SIGUSR1");
    await new Promise((r) => setTimeout(r, 300));
  }
}

test("CLI: tsbpf trace --json --pid <pre-existing>: its fork, and its exit by SIGTERM with real pid and exec_id", async () => {
  if (!enabled) return;
  const s = await startSleeper();
  const h = startTrace(["--json", "--pid", String(s.pid)], { cwd: (built as Built).dir });
  try {
    const isFork = (e: TraceEvent) => e.event === "fork" && e.pid === s.pid;
    await pokeUntil(s.pid, () => h.events.some(isFork), 60_000);
    process.kill(s.pid, "SIGTERM");
    const ex = (await h.waitFor(
      (e) => e.event === "exit" && e.pid === s.pid && !e.thread,
      60_000,
      "the sleeper's exit",
    )) as ExitEvent;
    assert.is(ex.signal, 15);
    assert.is(ex.signal_name, "SIGTERM");
    assert.is(ex.exec_id, s.execId, "exec_id agrees with /proc/<pid>/stat starttime");
    assert.is(ex.ppid, process.pid);
    const f = h.events.find(isFork) as ForkEvent;
    assert.is(f.exec_id, s.execId);
    assert.is(f.ppid, process.pid, "fork ppid comes from the /proc-seeded table");
    h.child.kill("SIGINT");
    const r = await h.done(60_000);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.events.filter((e) => e.event === "exit" && e.pid === s.pid).length, 1);
  } finally {
    h.child.kill("SIGKILL");
  }
});

test("library: openSession marks the pre-existing process and reports its exit by SIGKILL", async () => {
  if (!enabled) return;
  const s = await startSleeper();
  const session = await openSession({ rootPids: [s.pid] });
  try {
    const entry = session.table.get(s.pid);
    assert.ok(entry, "seeded from /proc");
    assert.is(entry?.preexisting, true);
    assert.is(entry?.exec_id, s.execId);
    const got: TraceEvent[] = [];
    const timer = setTimeout(() => session.stop(), 90_000);
    const pump = (async () => {
      for await (const ev of session.events()) {
        got.push(ev);
        if (ev.event === "exit" && ev.pid === s.pid && !ev.thread) session.stop();
      }
    })();
    await pokeUntil(s.pid, () => got.some((e) => e.event === "fork" && e.pid === s.pid), 60_000);
    process.kill(s.pid, "SIGKILL");
    await pump;
    clearTimeout(timer);
    const exits = got.filter((e): e is ExitEvent => e.event === "exit" && e.pid === s.pid);
    assert.is(exits.length, 1, "exactly one exit");
    assert.is(exits[0]?.signal, 9);
    assert.is(exits[0]?.exec_id, s.execId);
    assert.is(session.table.get(s.pid)?.preexisting, true, "still known as pre-existing after its exit");
  } finally {
    session.close();
  }
});

test.after(() => {
  for (const c of sleepers) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  built?.cleanup();
});

test.run();
