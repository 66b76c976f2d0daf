// The CO-RE target is a value of each load, never process state: a load with a target
// BTF file, then one without, in the same process, must relocate the second against the
// running kernel's BTF (it once kept the first's target). Also: extra targets searched
// after the target, and messages that name the target actually used.
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Btf } from "../../src/btf/btf.ts";
import { BtfCache } from "../../src/btf/kernel.ts";
import type { LoadOptions } from "../../src/loader/collection.ts";
import { loadCollectionSync } from "../../src/loader/collection.ts";
import type { LoadStep } from "../../src/loader/steps.ts";
import { BtfBuilder } from "../core/btf-builder.ts";
import { privileged } from "../helpers/env.ts";

const OBJ = "test/fixtures/core.bpf.o";
const FAIL_OBJ = "test/fixtures/core_fail.bpf.o";
const TRACER = "bpf/process.bpf.o";
const TRACER_OPTS: LoadOptions = { maps: { scratch: { maxEntries: 2 } } };

type Value = { local: number | string; target: number | string };
interface Relo {
  program: string;
  index: number;
  kind: string;
  poisoned: boolean;
  value: Value;
  chosen?: { id: number; name: string; module?: string };
  access: { text: string };
}

/** Loads, closes, and returns the CO-RE results and the error (if the load failed). */
function load(src: string, opts: LoadOptions): { relos: Relo[]; error?: Error } {
  const steps: LoadStep[] = [];
  try {
    loadCollectionSync(src, { ...opts, onStep: (s) => steps.push(s) }).close();
  } catch (e) {
    return { relos: core(steps), error: e as Error };
  }
  return { relos: core(steps) };
}

function core(steps: LoadStep[]): Relo[] {
  return steps.flatMap((s) =>
    s.step === "core_relocation" ? [{ program: s.program, ...s.result } as unknown as Relo] : [],
  );
}

const offsets = (rs: Relo[]) => rs.filter((r) => r.kind === "byte_off" && !r.poisoned);

test("a load with a target BTF file, then one without: the second uses the running kernel's BTF", () => {
  if (!privileged("loading core.bpf.o")) return;
  // Its own .BTF as the target: every offset stays the local one (the verifier may then
  // refuse the programs; the CO-RE results are what this is about).
  const first = load(OBJ, { btf: OBJ });
  assert.ok(offsets(first.relos).length > 3);
  for (const r of offsets(first.relos)) assert.is(r.value.target, r.value.local, r.access.text);

  const second = load(OBJ, {});
  assert.is(second.error, undefined, second.error?.message);
  const kernel = load(OBJ, { targetBtf: new BtfCache().kernel() });
  assert.is(kernel.error, undefined, kernel.error?.message);
  assert.equal(
    second.relos.map((r) => [r.program, r.index, r.value, r.chosen?.id]),
    kernel.relos.map((r) => [r.program, r.index, r.value, r.chosen?.id]),
  );
  assert.ok(
    offsets(second.relos).some((r) => r.value.target !== r.value.local),
    "the kernel's task_struct differs from the fixture's trimmed one",
  );
});

/** A target with one unrelated type: nothing of the object's is in it. */
function emptyTarget(): Btf {
  const b = new BtfBuilder();
  b.int("int", 4, true);
  return b.build("tiny-target.btf");
}

test("extraTargets are searched after the target: candidates the target lacks come from them", () => {
  if (!privileged("loading process.bpf.o")) return;
  const vmlinux = new BtfCache().kernel();
  // The tracer's object: CO-RE records and no externs (kconfig would be read from the target).
  const viaExtra = load(TRACER, { ...TRACER_OPTS, targetBtf: emptyTarget(), extraTargets: [vmlinux] });
  assert.is(viaExtra.error, undefined, viaExtra.error?.message);
  const direct = load(TRACER, { ...TRACER_OPTS, targetBtf: vmlinux });
  assert.equal(
    viaExtra.relos.map((r) => [r.index, r.value, r.chosen?.id]),
    direct.relos.map((r) => [r.index, r.value, r.chosen?.id]),
  );
  const fromExtra = viaExtra.relos.filter((r) => r.chosen !== undefined);
  assert.ok(fromExtra.length > 0);
  for (const r of fromExtra)
    assert.is(r.chosen?.module, vmlinux.name, "the candidate names the BTF it came from");
});

test("a missing field is reported against the target actually used", () => {
  if (!privileged("loading core_fail.bpf.o")) return;
  const withFile = load(FAIL_OBJ, { btf: OBJ });
  assert.ok(withFile.error);
  assert.match(withFile.error.message, `not found in target BTF ${OBJ} (.BTF)`);
  assert.not.match(withFile.error.message, "kernel BTF");
  const onKernel = load(FAIL_OBJ, {});
  assert.ok(onKernel.error);
  assert.match(onKernel.error.message, "not found in kernel BTF");
});

test.run();
