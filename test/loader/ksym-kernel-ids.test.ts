// BTF ids handed to the kernel (typed __ksym externs: kfunc calls' imm and ld_imm64
// BPF_PSEUDO_BTF_ID; a tp_btf/fentry program's attach_btf_id) are the RUNNING kernel's,
// even when the load relocates CO-RE against a target given as a value or a path: the
// target only answers CO-RE field questions. The target here is the kernel's own BTF with
// every id shifted by one, so CO-RE resolves exactly as against the kernel while any id
// read from the target is off by one (the kernel then rejects the kfunc call).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Btf } from "../../src/btf/btf.ts";
import { encodeBtf } from "../../src/btf/encode.ts";
import { BtfCache } from "../../src/btf/kernel.ts";
import type { BtfType } from "../../src/btf/types.ts";
import { loadCollectionSync } from "../../src/loader/collection.ts";
import type { LoadStep } from "../../src/loader/steps.ts";
import { privileged } from "../helpers/env.ts";

const OBJ = "test/fixtures/core.bpf.o";

/** `t` with every type reference moved up by `by` (0, void, stays 0). */
function shifted(t: BtfType, by: number): BtfType {
  const s = (id: number) => (id === 0 ? 0 : id + by);
  const c = { ...t, id: t.id + by } as BtfType;
  switch (c.kind) {
    case "ptr":
    case "typedef":
    case "volatile":
    case "const":
    case "restrict":
    case "type_tag":
    case "func":
    case "var":
    case "decl_tag":
      c.type = s(c.type);
      break;
    case "array":
      c.type = s(c.type);
      c.indexType = s(c.indexType);
      break;
    case "struct":
    case "union":
      c.members = c.members.map((m) => ({ ...m, type: s(m.type) }));
      break;
    case "func_proto":
      c.returnType = s(c.returnType);
      c.params = c.params.map((p) => ({ ...p, type: s(p.type) }));
      break;
    case "datasec":
      c.vars = c.vars.map((v) => ({ ...v, type: s(v.type) }));
      break;
  }
  return c;
}

/** The kernel's BTF behind one extra type: same types, every id + 1. */
function shiftedKernel(kernel: Btf): Btf {
  const types: BtfType[] = [
    {
      kind: "int",
      id: 1,
      name: "tsbpf_shift",
      size: 4,
      signed: false,
      char: false,
      bool: false,
      bitsOffset: 0,
      bits: 32,
    },
  ];
  for (let id = 1; id < kernel.length; id++) types.push(shifted(kernel.type(id), 1));
  return Btf.parse(encodeBtf(types), { name: "vmlinux-shifted.btf" });
}

function loadSteps(opts: Parameters<typeof loadCollectionSync>[1]): LoadStep[] {
  const steps: LoadStep[] = [];
  loadCollectionSync(OBJ, { ...opts, onStep: (s) => steps.push(s) }).close();
  return steps;
}

test("a target BTF override: ksyms and attach_btf_id still come from the running kernel's BTF", () => {
  if (!privileged("loading core.bpf.o")) return;
  const kernel = new BtfCache().kernel();
  const target = shiftedKernel(kernel);
  const kfunc = kernel.findByNameKind("bpf_task_from_pid", "func")[0];
  const tp = kernel.findByNameKind("btf_trace_sched_process_exec", "typedef")[0];
  assert.ok(kfunc !== undefined && tp !== undefined);
  assert.is(target.findByNameKind("bpf_task_from_pid", "func")[0], kfunc + 1, "the target's ids differ");

  const dir = mkdtempSync(join(tmpdir(), "tsbpf-uapi-ksym-"));
  try {
    const path = join(dir, "vmlinux-shifted.btf");
    writeFileSync(path, target.raw);
    for (const opts of [{ targetBtf: target }, { btf: path }]) checkLoad(opts, kernel, kfunc, tp);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function checkLoad(
  opts: Parameters<typeof loadCollectionSync>[1],
  kernel: Btf,
  kfunc: number,
  tp: number,
): void {
  {
    const steps = loadSteps(opts); // the kernel refuses a kfunc call with a wrong id
    const ksym = steps.find((s) => s.step === "extern_resolved" && s.name === "bpf_task_from_pid");
    assert.is((ksym as { value: string } | undefined)?.value, `btf id ${kfunc}`);
    const prog = steps.find((s) => s.step === "prog_loaded" && s.program === "on_exec");
    assert.is((prog as { attachBtfId?: number } | undefined)?.attachBtfId, tp);
    // CO-RE did use the target: TYPE_ID_TARGET of task_struct is the target's id.
    const relo = steps.find((s) => s.step === "core_relocation" && s.result.kind === "target_type_id") as
      | { result: { value: { target: number } } }
      | undefined;
    assert.is(relo?.result.value.target, kernel.findByNameKind("task_struct", "struct")[0] + 1);
  }
}

test.run();
