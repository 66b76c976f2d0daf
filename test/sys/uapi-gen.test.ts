// src/uapi.gen.ts is current: rerunning scripts/gen-uapi.ts on the running kernel's BTF
// reproduces it byte for byte when this is the kernel it was generated from; on any
// other kernel every value both know is the same (UAPI values never change; an older
// kernel lacks the newest ones, a newer one has more).
import { existsSync, readFileSync } from "node:fs";
import { release } from "node:os";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { GENERATED_PATH, generateUapi, uapiModel } from "../../scripts/gen-uapi.ts";
import { Btf } from "../../src/btf/btf.ts";
import * as G from "../../src/uapi.gen.ts";
import { inCI, ROOT_DIR } from "../helpers/env.ts";

const VMLINUX = "/sys/kernel/btf/vmlinux";

function kernelBtf(): Btf | undefined {
  if (existsSync(VMLINUX)) return Btf.parse(new Uint8Array(readFileSync(VMLINUX)), { name: VMLINUX });
  if (inCI) throw new Error(`${VMLINUX} is missing, and CI=true forbids skipping`);
  console.log(`  (skipping: no ${VMLINUX})`);
  return undefined;
}

const committed = G as unknown as Record<string, unknown>;

test("regenerated from this kernel's BTF: the same file (else: every shared value equal)", () => {
  const btf = kernelBtf();
  if (!btf) return;
  const text = readFileSync(`${ROOT_DIR}/${GENERATED_PATH}`, "utf8");
  if (release() === G.UAPI_KERNEL_RELEASE) {
    assert.ok(
      generateUapi(btf, release()) === text,
      `${GENERATED_PATH} is stale: run npm run gen:uapi and commit the result`,
    );
    return;
  }
  console.log(`  (generated from ${G.UAPI_KERNEL_RELEASE}, running ${release()}: comparing values)`);
  const model = uapiModel(btf);
  let shared = 0;
  for (const e of model.enums) {
    for (const [name, value] of e.values) {
      if (!(name in committed)) continue;
      assert.is(committed[name], value, `${name}: committed ${committed[name]}, this kernel ${value}`);
      shared++;
    }
  }
  for (const s of model.structs) {
    const mine = committed[s.name] as Record<string, unknown>;
    const groups = s.groups ?? new Map([["", s.fields ?? new Map()]]);
    for (const [g, fields] of groups) {
      const have = (g ? (mine[g] as Record<string, unknown> | undefined) : mine) ?? {};
      for (const [f, layout] of fields) {
        if (!(f in have)) continue;
        assert.equal(have[f], layout, `${s.name} ${g} ${f}`);
        shared++;
      }
    }
  }
  assert.ok(shared > 500, `only ${shared} values in common`);
});

test("the generated enums and layouts hold what the loader uses", () => {
  assert.is(G.BPF_PROG_LOAD, 5);
  assert.is(G.BPF_MAP_TYPE_RINGBUF, 27);
  assert.is(G.BPF_TRACE_KPROBE_MULTI, 42);
  assert.equal(G.bpf_attr.BPF_PROG_LOAD.log_true_size, [140, "u32"]);
  assert.equal(G.bpf_attr.link_create["tracing.cookie"], [24, "u64"]);
  assert.equal(G.bpf_prog_info.gpl_compatible, [84, "u32", 0, 1]);
  // Counters that grow with each kernel are not part of the ABI and not emitted.
  assert.not.ok("__MAX_BPF_CMD" in committed);
  assert.not.ok("MAX_BPF_LINK_TYPE" in committed);
});

test.run();
