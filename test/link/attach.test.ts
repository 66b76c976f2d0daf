// Each attach kind on the real kernel, counted in a map: tracepoint, raw_tracepoint
// and tp_btf programs of attach.bpf.o, filtered to this process through .rodata
// target_tgid, and the errors for what cannot be attached here.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { AttachError } from "../../src/link/link.ts";
import { loadCollection } from "../../src/loader/collection.ts";
import { UnsupportedProgramError } from "../../src/loader/errors.ts";
import type { LoadStep } from "../../src/loader/steps.ts";
import { privileged, ROOT_DIR } from "../helpers/env.ts";

const fx = (n: string) => join(ROOT_DIR, "test/fixtures", n);
const N = 25;

test("tracepoint, raw_tracepoint and tp_btf programs count exactly this process's events", async () => {
  if (!privileged("attach.bpf.o")) return;
  const steps: LoadStep[] = [];
  const coll = await loadCollection(fx("attach.bpf.o"), {
    rodata: { target_tgid: process.pid },
    onStep: (s) => steps.push(s),
  });
  try {
    const counts = coll.maps.counts;
    const links = ["tp_getppid", "raw_sys_enter", "btf_fork"].map((n) => coll.programs[n]?.attach());
    assert.equal(
      links.map((l) => l?.kind),
      ["tracepoint", "raw_tracepoint", "tp_btf"],
    );
    assert.ok(links.every((l) => l?.isBpfLink));
    // process.ppid is a getter: one getppid(2) per read.
    let sink = 0;
    for (let i = 0; i < N; i++) sink += process.ppid;
    assert.ok(sink > 0);
    for (let i = 0; i < 3; i++) spawnSync("true");
    assert.is(counts?.lookup(0), BigInt(N), "tracepoint sys_enter_getppid");
    assert.is(counts?.lookup(1), BigInt(N), "raw_tracepoint sys_enter with id == getppid");
    assert.ok((counts?.lookup(2) as bigint) >= 3n, "tp_btf sched_process_fork from this process");
    assert.is(steps.filter((s) => s.step === "attached").length, 3);
    // Detached: no more counting.
    for (const l of links) l?.close();
    for (let i = 0; i < 5; i++) sink += process.ppid;
    assert.is(counts?.lookup(0), BigInt(N));
    assert.is(counts?.lookup(1), BigInt(N));
  } finally {
    coll.close();
  }
});

test("an unknown tracepoint is an AttachError naming it", async () => {
  if (!privileged("unknown tracepoint")) return;
  const coll = await loadCollection(fx("attach.bpf.o"));
  try {
    const err = (() => {
      try {
        coll.programs.tp_getppid?.attach({ target: "sched/xyz" });
      } catch (e) {
        return e;
      }
    })();
    assert.instance(err, AttachError);
    assert.match((err as Error).message, "no such tracepoint sched/xyz");
  } finally {
    coll.close();
  }
});

test("syscall programs are not attachable: the error says to use testRun", async () => {
  if (!privileged("syscall attach")) return;
  const coll = await loadCollection(fx("calls.bpf.o"));
  try {
    assert.throws(
      () => coll.programs.calc_chain?.attach(),
      (e: Error) => e instanceof AttachError && /testRun/.test(e.message),
    );
  } finally {
    coll.close();
  }
});

test("fentry/fexit on a kernel without trampolines: a clear typed error, nothing left behind", async () => {
  if (!privileged("fentry.bpf.o")) return;
  let err: unknown;
  try {
    const c = await loadCollection(fx("fentry.bpf.o"));
    // A kernel with trampolines loads it: then the programs must attach and count.
    try {
      const l = c.programs.fentry_getpgid?.attach();
      assert.is(l?.kind, "fentry");
    } finally {
      c.close();
    }
    return;
  } catch (e) {
    err = e;
  }
  assert.instance(err, UnsupportedProgramError);
  assert.match(
    (err as Error).message,
    "fentry/fexit programs need BPF trampolines, which this kernel lacks (CONFIG_FUNCTION_TRACER / DYNAMIC_FTRACE_WITH_DIRECT_CALLS is off); use tp_btf or raw_tracepoint instead",
  );
  assert.match((err as Error).message, "fentry_getpgid");
});

test.run();
