// User-facing load errors: verifier rejection with program, reason, source line and
// log tail; unprivileged `tsbpf load` gets the privilege message and exit 1.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readCollectionSpec } from "../../src/elf/collection.ts";
import { loadCollection } from "../../src/loader/collection.ts";
import { CoreRelocationError, VerifierError } from "../../src/loader/errors.ts";
import type { LoadStep } from "../../src/loader/steps.ts";
import { AS_NOBODY, assertOneLineError, runCli } from "../helpers/cli.ts";
import { haveTool, privileged, ROOT_DIR } from "../helpers/env.ts";

const fx = (n: string) => join(ROOT_DIR, "test/fixtures", n);

async function rejection(only: string): Promise<VerifierError> {
  const spec = readCollectionSpec(readFileSync(fx("reject.bpf.o")), "test/fixtures/reject.bpf.o");
  spec.programs = spec.programs.filter((p) => p.name === only);
  try {
    (await loadCollection(spec)).close();
  } catch (e) {
    assert.instance(e, VerifierError);
    return e as VerifierError;
  }
  throw new Error(`${only} loaded, expected a verifier rejection`);
}

test("reject.bpf.o null_deref: VerifierError with reason, insn, C source line and log tail", async () => {
  if (!privileged("reject.bpf.o")) return;
  const e = await rejection("null_deref");
  assert.is(e.program, "null_deref");
  const first = e.message.split("\n")[0] as string;
  assert.match(
    first,
    /^program 'null_deref' rejected by the verifier: R0 invalid mem access 'map_value_or_null' \(insn \d+, .*reject\.bpf\.c:\d+: "return \*v;/,
  );
  assert.ok(e.insn !== undefined);
  assert.match(e.message, "verifier log (last");
  assert.match(e.message, "processed");
  assert.ok(e.log.length > 0);
});

test("reject.bpf.o oob_read: the unbounded access is reported with its source line", async () => {
  if (!privileged("reject.bpf.o")) return;
  const e = await rejection("oob_read");
  const first = e.message.split("\n")[0] as string;
  assert.match(
    first,
    /^program 'oob_read' rejected by the verifier: .*(unbounded memory access|invalid access to map value)/,
  );
  assert.match(first, /reject\.bpf\.c:\d+: "/);
});

test("a poisoned CO-RE instruction is reported as the CO-RE relocation that failed", async () => {
  if (!privileged("core_fail.bpf.o")) return;
  let err: unknown;
  try {
    (await loadCollection(fx("core_fail.bpf.o"))).close();
  } catch (e) {
    err = e;
  }
  assert.instance(err, CoreRelocationError);
  assert.match(
    (err as Error).message,
    /^CO-RE relocation #\d+ in program read_missing failed: task_struct::tsbpf_no_such_field not found in kernel BTF \(wanted by .*core_fail\.bpf\.c:\d+\)/,
  );
});

test("logLevel 1: verifier statistics are reported for loaded programs", async () => {
  if (!privileged("verifier stats")) return;
  const steps: LoadStep[] = [];
  const coll = await loadCollection(fx("calls.bpf.o"), { logLevel: 1, onStep: (s) => steps.push(s) });
  try {
    const loaded = steps.filter((s) => s.step === "prog_loaded");
    assert.is(loaded.length, 4);
    for (const s of loaded) {
      if (s.step !== "prog_loaded") continue;
      assert.ok((s.stats?.insnsProcessed ?? 0) > 0, `${s.program}: processed insns`);
    }
    assert.ok((coll.programs.calc_loop?.stats?.insnsProcessed ?? 0) > 0);
  } finally {
    coll.close();
  }
});

test("unprivileged tsbpf load: privilege message, exit 1, no stack trace", () => {
  if (!privileged("setpriv to nobody") || !haveTool("setpriv")) return;
  const r = runCli(["load", "test/fixtures/attach.bpf.o"], { prefix: AS_NOBODY, env: { HOME: "/tmp" } });
  assertOneLineError(r, 1, /needs root, or CAP_BPF \+ CAP_PERFMON/, "nobody: tsbpf load");
});

test.run();
