// loadCollection on the fixture objects, run through BPF_PROG_TEST_RUN: bpf-to-bpf
// calls and bpf_loop callbacks (calls.bpf.o), .rodata set from TypeScript and .bss
// read through the mmap view (globals.bpf.o), and every map type (maps.bpf.o).
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadCollection } from "../../src/loader/collection.ts";
import { VerifierError } from "../../src/loader/errors.ts";
import type { LoadStep } from "../../src/loader/steps.ts";
import { privileged, ROOT_DIR } from "../helpers/env.ts";

const fx = (n: string) => join(ROOT_DIR, "test/fixtures", n);
const u64ctx = (x: number) => new Uint8Array(new BigUint64Array([BigInt(x)]).buffer);
const u32ctx = (...xs: number[]) => new Uint8Array(new Uint32Array(xs).buffer);

test("calls.bpf.o: static, nested, global subprogs and the bpf_loop callback compute the documented values", async () => {
  if (!privileged("calls.bpf.o load")) return;
  const steps: LoadStep[] = [];
  const coll = await loadCollection(fx("calls.bpf.o"), { onStep: (s) => steps.push(s) });
  try {
    const x = 5;
    // results[0] = ((x + 1) * 2) + 3, results[1] = x*7 + x*x, results[3] = sum_{i<x} i*i
    assert.is(coll.programs.calc_chain?.testRun({ ctx: u64ctx(x) }).retval, 15);
    assert.is(coll.programs.calc_global?.testRun({ ctx: u64ctx(x) }).retval, 60);
    assert.is(coll.programs.calc_loop?.testRun({ ctx: u64ctx(x) }).retval, 30);
    const results = coll.maps.results;
    assert.is(results?.lookup(0), 15n);
    assert.is(results?.lookup(1), 60n);
    assert.is(results?.lookup(3), 30n);
    // raw_tp program: ctx only, repeat 0; arg1 (the syscall id) = 9 → square = 81.
    const r = coll.programs.on_sys_enter?.testRun({
      ctx: new Uint8Array(new BigUint64Array([0n, 9n]).buffer),
    });
    assert.is(r?.retval, 0);
    assert.is(results?.lookup(2), 81n);
    // square is appended once to each program that calls it, after the program's own code.
    const appended = steps
      .filter((s) => s.step === "subprog_appended")
      .map((s) => s.step === "subprog_appended" && `${s.program}:${s.subprog}`);
    assert.ok(appended.includes("calc_loop:sum_cb"));
    assert.ok(appended.includes("calc_loop:square"));
    assert.is(appended.filter((a) => a === "calc_global:square").length, 1);
    assert.ok(steps.some((s) => s.step === "prog_loaded" && s.program === "calc_loop"));
  } finally {
    coll.close();
  }
});

test("globals.bpf.o: .rodata set before load changes the program; .bss and .data through the mmap view", async () => {
  if (!privileged("globals.bpf.o load")) return;
  const plain = await loadCollection(fx("globals.bpf.o"));
  try {
    assert.is(plain.programs.bump?.testRun({ ctx: u32ctx(7) }).retval, 7);
    assert.is(plain.globals.bss?.calls, 1n);
    assert.is(plain.globals.bss?.total, 7n);
    assert.is(plain.globals.data?.last_amount, 7);
    assert.is(plain.globals.bss?.last_msg, "bumped");
    // .data is writable from user space and the program sees it.
    if (plain.globals.data) plain.globals.data.last_amount = -5;
    assert.is(plain.globals.data?.last_amount, -5);
    // The map (a syscall away) sees the write made through the mmap view.
    const raw = plain.maps.data?.lookup(0) as Uint8Array;
    assert.ok(raw instanceof Uint8Array && raw.length === plain.maps.data?.spec.valueSize);
  } finally {
    plain.close();
  }
  const tuned = await loadCollection(fx("globals.bpf.o"), { rodata: { multiplier: 3, use_bias: true } });
  try {
    // amount * multiplier + bias (.data bias = 1000)
    assert.is(tuned.programs.bump?.testRun({ ctx: u32ctx(7) }).retval, 7 * 3 + 1000);
    assert.is(tuned.globals.rodata?.multiplier, 3);
    if (tuned.globals.data) tuned.globals.data.bias = 1n;
    assert.is(tuned.programs.bump?.testRun({ ctx: u32ctx(2) }).retval, 2 * 3 + 1);
    assert.is(tuned.globals.bss?.calls, 2n);
    assert.throws(() => {
      if (tuned.globals.rodata) tuned.globals.rodata.multiplier = 4;
    }, /read-only/);
  } finally {
    tuned.close();
  }
});

test("maps.bpf.o: every map type is created and round-trips through the exercise program", async () => {
  if (!privileged("maps.bpf.o load")) return;
  const coll = await loadCollection(fx("maps.bpf.o"), { maps: { lru_hash: { maxEntries: 64 } } });
  try {
    const r = coll.programs.exercise?.testRun({ ctx: u32ctx(3, 41) });
    assert.is(r?.retval, 7, "all 7 steps of exercise succeed");
    assert.is(coll.maps.lru_hash?.info().max_entries, 64);
    assert.is(coll.maps.lru_hash?.lookup(3), 82n);
    assert.is(coll.maps.inner?.lookup(1), 42);
    const arr = coll.maps.array?.lookup(0) as Record<string, unknown>;
    assert.ok(arr && typeof arr === "object");
  } finally {
    coll.close();
  }
});

test("onProgramError: a failing program is reported and skipped, the rest still load", async () => {
  if (!privileged("onProgramError")) return;
  // Without the option the first failure fails the load, as in libbpf.
  let thrown: unknown;
  await loadCollection(fx("core_fail.bpf.o")).catch((e) => {
    thrown = e;
  });
  assert.ok(thrown instanceof Error);
  const failed: [string, Error][] = [];
  const coll = await loadCollection(fx("core_fail.bpf.o"), {
    onProgramError: (name, e) => failed.push([name, e]),
  });
  try {
    assert.equal(
      failed.map(([n]) => n),
      ["read_missing"],
    );
    assert.is(coll.programs.read_missing, undefined);
    assert.ok(coll.programs.guarded && coll.programs.guarded.fd > 0);
  } finally {
    coll.close();
  }
  const rej: [string, Error][] = [];
  const c2 = await loadCollection(fx("reject.bpf.o"), { onProgramError: (n, e) => rej.push([n, e]) });
  c2.close();
  assert.equal(
    rej.map(([n, e]) => [n, e instanceof VerifierError]),
    [
      ["null_deref", true],
      ["oob_read", true],
    ],
  );
});

test.run();
