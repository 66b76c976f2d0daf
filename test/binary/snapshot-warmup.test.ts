// src/binary/snapshot-warmup.ts runs at build time inside the single binary's V8 snapshot: it
// must exercise the whole ELF → BTF → CO-RE path and leave nothing behind (no kernel
// object, no cached kernel BTF) that a run on another machine could see.
import { readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  lastWarmUpError,
  warmUpEventPath,
  warmUpExplain,
  warmUpTraceLoad,
} from "../../src/binary/snapshot-warmup.ts";
import { readCollectionSpec } from "../../src/elf/collection.ts";
import { haveBtfFeature } from "../../src/loader/features.ts";
import { linkProgram } from "../../src/loader/link.ts";
import { withBpfRecorder } from "../../src/sys/bpf.ts";
import { FeatureProbes } from "../../src/sys/features.ts";
import { setBpfRecorder } from "../../src/sys/syscalls.ts";
import { timingOn } from "../../src/timing.ts";
import { privileged, ROOT_DIR } from "../helpers/env.ts";

const objects = ["process.bpf.o", "process_perf.bpf.o"].map((name) => ({
  name,
  path: join(ROOT_DIR, "bpf", name),
}));

/** CO-RE records of every program, counted from the objects directly. */
function coreRecords(): number {
  let n = 0;
  for (const o of objects) {
    const spec = readCollectionSpec(new Uint8Array(readFileSync(o.path)), o.path);
    for (const p of spec.programs) n += linkProgram(spec, p).coreRelos.length;
  }
  return n;
}

const openFds = () => readdirSync("/proc/self/fd").length;

test("a trace session opens on the fake kernel and leaves no fd, and the real kernel answers afterwards", async () => {
  const fds = openFds();
  const cacheHome = process.env.XDG_CACHE_HOME;
  for (const o of objects) {
    // The process table was seeded from /proc: at least this process is in it.
    const seeded = await warmUpTraceLoad(o.path);
    assert.ok(seeded > 0, `${o.name}: ${lastWarmUpError}`);
    assert.is(lastWarmUpError, undefined);
  }
  assert.is(openFds(), fds);
  // Its private CO-RE cache directory is gone, and XDG_CACHE_HOME is what it was.
  assert.is(process.env.XDG_CACHE_HOME, cacheHome);
  assert.equal(
    readdirSync(tmpdir()).filter((n) => n.startsWith("tsbpf-warm-up-")),
    [],
  );
  if (!privileged("a real BTF feature probe after the warm-up")) return;
  // The fake kernel is gone: a probe now reaches the real kernel.
  const calls: { cmdName: string }[] = [];
  withBpfRecorder(
    (c) => calls.push(c),
    () => assert.is(haveBtfFeature(new FeatureProbes(), "func"), true),
  );
  assert.ok(
    calls.some((c) => c.cmdName === "BPF_BTF_LOAD"),
    `no probe issued: ${JSON.stringify(calls)}`,
  );
});

test("the event path formats a fork, an exec and an exit in JSON and in text, and closes its output", () => {
  const fds = openFds();
  for (const o of objects) assert.is(warmUpEventPath(o.path), 6, `${o.name}: ${lastWarmUpError}`);
  assert.is(openFds(), fds);
});

test("the trace session opens without the Atomics global, as in Node's snapshot builder", async () => {
  const g = globalThis as Record<string, unknown>;
  const saved = g.Atomics;
  delete g.Atomics;
  try {
    const seeded = await warmUpTraceLoad(objects[0]?.path as string);
    assert.ok(seeded > 0, `${lastWarmUpError}`);
    assert.is(typeof g.Atomics, "undefined", "the stand-in must go again");
  } finally {
    g.Atomics = saved;
  }
});

test("explain --no-load resolves every CO-RE record with no bpf() call, and reads TSBPF_TIMING afresh", async () => {
  const calls: unknown[] = [];
  // The seam's recorder slot itself (withBpfRecorder scopes one synchronous call only).
  setBpfRecorder((c) => calls.push(c));
  let n: number;
  try {
    n = await warmUpExplain(objects);
  } finally {
    setBpfRecorder(undefined);
  }
  assert.is(lastWarmUpError, undefined);
  assert.is(n, coreRecords());
  assert.ok(n > 400, `only ${n} relocations`);
  assert.is(calls.length, 0);
  // TSBPF_TIMING is read at each phase mark, never kept from the warm-up's.
  const saved = process.env.TSBPF_TIMING;
  process.env.TSBPF_TIMING = saved === "1" ? "0" : "1";
  try {
    assert.is(timingOn(), process.env.TSBPF_TIMING === "1");
  } finally {
    if (saved === undefined) delete process.env.TSBPF_TIMING;
    else process.env.TSBPF_TIMING = saved;
  }
});

test("an object that does not parse is reported for the build log, not thrown", async () => {
  assert.is(await warmUpExplain([{ name: "missing", path: join(ROOT_DIR, "no-such-object.bpf.o") }]), 0);
  assert.match(lastWarmUpError ?? "", "no-such-object");
});

test("a load that fails is reported for the build log, not thrown", async () => {
  assert.is(await warmUpTraceLoad(join(ROOT_DIR, "no-such-object.bpf.o")), 0);
  assert.match(lastWarmUpError ?? "", "no-such-object");
});

test.run();
