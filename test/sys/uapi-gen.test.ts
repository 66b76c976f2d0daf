// src/uapi.gen.ts is current: rerunning scripts/gen-uapi.ts on the running kernel's BTF
// reproduces it byte for byte when this is the kernel it was generated from; on any
// other kernel every value both know is the same (UAPI values never change; an older
// kernel lacks the newest ones, a newer one has more).
import { existsSync, readFileSync } from "node:fs";
import { release } from "node:os";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { attrGroups, GENERATED_PATH, GenUapiError, generateUapi, uapiModel } from "../../scripts/gen-uapi.ts";
import { Btf } from "../../src/btf/btf.ts";
import * as G from "../../src/uapi.gen.ts";
import { BtfBuilder } from "../core/btf-builder.ts";
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
  const model = uapiModel(btf, { partial: true });
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

test("the generator flattens like C: anonymous members inline, named ones outer.inner", () => {
  const b = new BtfBuilder();
  const u32 = b.int("__u32", 4);
  const u64 = b.int("__u64", 8);
  const create = b.struct("", 8, [
    ["map_type", u32, 0],
    ["key_size", u32, 32],
  ]);
  const cookie = b.struct("", 8, [["bpf_cookie", u64, 0]]);
  const inner = b.struct(
    "",
    16,
    [
      ["target_btf_id", u32, 0],
      ["perf_event", cookie, 0],
    ],
    "union",
  );
  const link = b.struct("", 24, [
    ["prog_fd", u32, 0],
    ["", inner, 64],
  ]);
  b.struct(
    "bpf_attr",
    24,
    [
      ["", create, 0],
      ["link_create", link, 0],
    ],
    "union",
  );
  const groups = attrGroups(b.build("tiny.btf"));
  assert.equal([...groups.keys()], ["BPF_MAP_CREATE", "link_create"]);
  assert.equal(Object.fromEntries(groups.get("link_create") ?? []), {
    prog_fd: [0, "u32"],
    target_btf_id: [8, "u32"],
    "perf_event.bpf_cookie": [8, "u64"],
  });
});

test("a new anonymous bpf_attr member or a missing enum is one clear error", () => {
  const b = new BtfBuilder();
  const u32 = b.int("__u32", 4);
  const novel = b.struct("", 4, [["widget_fd", u32, 0]]);
  b.struct("bpf_attr", 4, [["", novel, 0]], "union");
  const btf = b.build("novel.btf");
  assert.throws(
    () => attrGroups(btf),
    (e: Error) =>
      e instanceof GenUapiError && /anonymous member starting with widget_fd is new/.test(e.message),
  );
  assert.throws(
    () => uapiModel(btf),
    (e: Error) => e instanceof GenUapiError && e.message === "no enum bpf_cmd in novel.btf",
  );
});

test.run();
