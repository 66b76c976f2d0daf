// The JIT warm-up (jit-warm.ts) runs the per-event code on synthetic events: it must
// leave no trace in what a real session computes or writes.
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DecoderWarmUp, EventPathWarmUp, WARM_PID, WARM_ROUNDS } from "../../src/binary/jit-warm.ts";
import { readCollectionSpec } from "../../src/elf/collection.ts";
import { makeRecordDecoder } from "../../src/tracker/bpf-decode.ts";
import { exitEvent, forkEvent, type RawTask } from "../../src/tracker/build.ts";
import { escapeJsonLine } from "../../src/tracker/escape.ts";
import { type ExecEvent, eventTimeMs, isoTimeFromUs } from "../../src/tracker/events.ts";
import { JsonEventWriter } from "../../src/tracker/json-bytes.ts";
import { ProcessTable } from "../../src/tracker/process-table.ts";

const raw = (tgid: number, ppid: number, time: string): RawTask => ({
  time,
  tgid,
  tid: tgid,
  ppid,
  uid: 1000,
  gid: 1000,
  comm: "sh",
  startBoottimeNs: 5e9,
  parentStartBoottimeNs: 4e9,
  cgroupId: 7,
  pidnsInode: 4026531836,
  nsPid: tgid,
});

test("a table, the JSON writer and the time caches behave the same after the warm-up", () => {
  const time = isoTimeFromUs(1_700_000_000_123_456);
  const table = new ProcessTable({ graceMs: 0 });
  const fork = forkEvent(
    { ...raw(10, 1, time), pidnsInode: undefined, nsPid: undefined },
    { childPid: 11, childTid: 11, thread: false, childStartBoottimeNs: 6e9 },
  );
  table.apply(fork);
  // Mid-way through the rounds, as events() interleaves them with real events.
  const warmUp = new EventPathWarmUp();
  for (let i = 0; i < WARM_ROUNDS / 2; i++) warmUp.round(i);
  const exit = exitEvent(raw(11, 10, time), { status: 9, lifetimeNs: 3e9, thread: false });
  table.apply(exit);
  for (let i = WARM_ROUNDS / 2; i < WARM_ROUNDS; i++) warmUp.round(i);

  // Only the real processes are in the real table.
  assert.equal([...table.entries()].map((e) => e.pid).sort(), [10, 11]);
  assert.equal(table.get(11)?.exited?.signal_name, "SIGKILL");
  assert.equal(table.get(11)?.exited?.timeMs, Date.parse("2023-11-14T22:13:20.123Z"));
  assert.equal(eventTimeMs(exit), Date.parse("2023-11-14T22:13:20.123Z"));
  assert.is(time, "2023-11-14T22:13:20.123456Z");
  assert.is(table.prune(Date.now() + 1000), 1);

  for (const ev of [fork, exit]) {
    const out = Buffer.alloc(1024);
    const end = new JsonEventWriter().write(out, 0, out.length - 1, ev);
    assert.ok(end > 0);
    assert.is(out.subarray(0, end).toString("utf8"), escapeJsonLine(ev));
  }
});

test("DecoderWarmUp: every record kind through decode(), pids no process can have, env and a signal in odd rounds", () => {
  const spec = readCollectionSpec(new Uint8Array(readFileSync("bpf/process.bpf.o")), "bpf/process.bpf.o");
  if (!spec.btf) throw new Error("bpf/process.bpf.o has no BTF");
  const asked: number[] = [];
  const decoder = makeRecordDecoder(spec.btf, {
    bootToRealtimeNs: 0n,
    parentOf: (pid) => {
      asked.push(pid);
      return undefined;
    },
  });
  // The warm-up calls decode() through the decoder object, so a wrapper sees every record.
  const decode = decoder.decode;
  let seen: string[] = [];
  const comms = new Set<string>();
  decoder.decode = (v, o, l) => {
    const ev = decode(v, o, l);
    const thread = ev && "thread" in ev && ev.thread === true ? ":thread" : "";
    const env = ev?.event === "exec" && (ev as ExecEvent).env !== undefined ? ":env" : "";
    const signal = ev?.event === "exit" && ev.signal !== null ? ":signal" : "";
    seen.push(ev ? `${ev.event}${thread}${env}${signal}` : "none");
    if (ev) {
      assert.ok(ev.pid >= WARM_PID, `${ev.event} pid ${ev.pid}`);
      comms.add(ev.comm);
    }
    return ev;
  };
  const warm = new DecoderWarmUp();
  for (let i = 0; i < WARM_ROUNDS; i++) {
    seen = [];
    warm.round(i, decoder);
    const odd = i % 2 === 1;
    assert.equal(seen, [
      "fork",
      "fork:thread",
      odd ? "exec:env" : "exec",
      "exec_failed",
      odd ? "exit:signal" : "exit",
      "exit:thread",
      "none",
      "none",
    ]);
  }
  // A name of its own per round: the comm cache's miss path runs in every round.
  assert.is(comms.size, WARM_ROUNDS);
  assert.ok(asked.length > 0);
  assert.ok(
    asked.every((p) => p >= 2 ** 22),
    "parentOf only ever asked for pids above PID_MAX_LIMIT",
  );
});

test.run();
