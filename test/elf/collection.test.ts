// CollectionSpec assertions on the committed fixtures, checked against what their C
// sources declare (test/fixtures/*.bpf.c).
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readCollectionSpec } from "../../src/elf/collection.ts";
import type { CollectionSpec, MapSpec, RelocationSpec } from "../../src/spec.ts";
import {
  BPF_F_MMAPABLE,
  BPF_F_NO_PREALLOC,
  BPF_F_RDONLY_PROG,
  BPF_MAP_TYPE,
  BPF_PROG_TYPE,
} from "../../src/uapi.ts";
import { ROOT_DIR } from "../helpers/env.ts";
import { committedObjects } from "./objects.ts";

function load(name: string): CollectionSpec {
  const path = join(ROOT_DIR, "test/fixtures", name);
  return readCollectionSpec(new Uint8Array(readFileSync(path)), `test/fixtures/${name}`);
}
function map(c: CollectionSpec, name: string): MapSpec {
  const m = c.maps.find((x) => x.name === name);
  assert.ok(m, `map ${name} in ${c.maps.map((x) => x.name).join(",")}`);
  return m as MapSpec;
}
function relocs(c: CollectionSpec, prog: string): RelocationSpec[] {
  const p = c.programs.find((x) => x.name === prog);
  assert.ok(p, `program ${prog}`);
  return p?.relocations ?? [];
}

test("every committed object reads into a consistent CollectionSpec", () => {
  for (const path of committedObjects()) {
    const c = readCollectionSpec(new Uint8Array(readFileSync(path)), basename(path));
    assert.ok(c.programs.length > 0, `${path}: programs`);
    assert.ok(c.license.length > 0, `${path}: license`);
    const mapNames = new Set(c.maps.map((m) => m.name));
    for (const f of c.functions.values()) {
      assert.is(f.insns.length % 8, 0);
      for (const r of f.relocations) {
        assert.ok(r.insn >= 0 && r.insn < f.insns.length / 8, `${path} ${f.name}: reloc insn in range`);
        if (r.kind === "map" || r.kind === "data")
          assert.ok(mapNames.has(r.map), `${path}: reloc to known map ${r.map}`);
        if (r.kind === "call" || r.kind === "func")
          assert.ok(c.functions.has(r.target), `${path}: call target ${r.target}`);
        if (r.kind === "extern")
          assert.ok(
            c.externs.some((e) => e.name === r.name),
            `${path}: extern ${r.name}`,
          );
      }
    }
    for (const p of c.programs)
      assert.is(c.functions.get(p.key), p, "programs are the same objects in functions");
  }
});

test("maps.bpf.o: one BTF map per declared type with the declared sizes", () => {
  const c = load("maps.bpf.o");
  assert.is(c.license, "GPL");
  const want: [string, number, string, number, number, number][] = [
    ["hash", BPF_MAP_TYPE.HASH, "hash", 4, 24, 128],
    ["array", BPF_MAP_TYPE.ARRAY, "array", 4, 16, 4],
    ["percpu_hash", BPF_MAP_TYPE.PERCPU_HASH, "percpu_hash", 8, 8, 32],
    ["percpu_array", BPF_MAP_TYPE.PERCPU_ARRAY, "percpu_array", 4, 8, 2],
    ["lru_hash", BPF_MAP_TYPE.LRU_HASH, "lru_hash", 4, 8, 16],
    ["lru_percpu_hash", BPF_MAP_TYPE.LRU_PERCPU_HASH, "lru_percpu_hash", 4, 4, 16],
    ["events", BPF_MAP_TYPE.RINGBUF, "ringbuf", 0, 0, 16384],
    ["perf_events", BPF_MAP_TYPE.PERF_EVENT_ARRAY, "perf_event_array", 4, 4, 0],
    ["inner", BPF_MAP_TYPE.ARRAY, "array", 4, 4, 4],
    ["array_of_maps", BPF_MAP_TYPE.ARRAY_OF_MAPS, "array_of_maps", 4, 4, 2],
    ["hash_of_maps", BPF_MAP_TYPE.HASH_OF_MAPS, "hash_of_maps", 4, 4, 8],
    ["prog_array", BPF_MAP_TYPE.PROG_ARRAY, "prog_array", 4, 4, 4],
    ["flows", BPF_MAP_TYPE.HASH, "hash", 12, 24, 64],
  ];
  for (const [name, type, typeName, k, v, max] of want) {
    const m = map(c, name);
    assert.equal(
      [m.type, m.typeName, m.keySize, m.valueSize, m.maxEntries],
      [type, typeName, k, v, max],
      name,
    );
  }
  assert.is(map(c, "flows").flags, BPF_F_NO_PREALLOC);
  const hash = map(c, "hash");
  assert.ok(c.btf);
  assert.is(c.btf?.nameOf(hash.btfValueTypeId), "flow_value");
  assert.is(c.btf?.nameOf(map(c, "flows").btfKeyTypeId), "flow_key");
  const aom = map(c, "array_of_maps");
  assert.is(aom.inner?.type, BPF_MAP_TYPE.ARRAY);
  assert.is(aom.inner?.maxEntries, 4);
  assert.equal(aom.initialSlots, [{ index: 0, name: "inner" }]);
  const hom = map(c, "hash_of_maps");
  assert.equal(
    [hom.inner?.type, hom.inner?.keySize, hom.inner?.valueSize, hom.inner?.maxEntries],
    [BPF_MAP_TYPE.HASH, 4, 8, 8],
  );
  assert.equal(hom.initialSlots, []);
  const kinds = relocs(c, "exercise").map((r) => (r.kind === "map" ? r.map : r.kind));
  assert.equal(kinds, [
    "hash",
    "array",
    "percpu_array",
    "lru_hash",
    "percpu_hash",
    "array_of_maps",
    "events",
  ]);
  const p = c.programs[0];
  assert.equal(
    [p?.name, p?.section, p?.progType, p?.sleepable],
    ["exercise", "syscall", BPF_PROG_TYPE.SYSCALL, true],
  );
});

test("globals.bpf.o: .rodata/.data/.bss maps named like libbpf, with contents and data relocations", () => {
  const c = load("globals.bpf.o");
  assert.is(c.license, "Dual BSD/GPL");
  const ro = map(c, "globals.rodata");
  const data = map(c, "globals.data");
  const bss = map(c, "globals.bss");
  assert.is(ro.globalData?.section, ".rodata");
  assert.is(ro.globalData?.readonly, true);
  assert.ok((ro.flags & BPF_F_RDONLY_PROG) !== 0);
  assert.ok((ro.flags & BPF_F_MMAPABLE) !== 0);
  assert.equal([ro.type, ro.keySize, ro.maxEntries], [BPF_MAP_TYPE.ARRAY, 4, 1]);
  // const volatile __u32 multiplier = 1 at offset 0.
  assert.is(
    new DataView(ro.globalData?.contents.buffer as ArrayBuffer, ro.globalData?.contents.byteOffset).getUint32(
      0,
      true,
    ),
    1,
  );
  assert.is(data.globalData?.readonly, false);
  assert.is(data.flags & BPF_F_RDONLY_PROG, 0);
  // __u64 bias = 1000 at offset 0.
  const dv = new DataView(
    data.globalData?.contents.buffer as ArrayBuffer,
    data.globalData?.contents.byteOffset,
  );
  assert.is(dv.getBigUint64(0, true), 1000n);
  assert.is(bss.globalData?.section, ".bss");
  assert.ok(bss.valueSize >= 8 * 3 + 16);
  assert.ok(bss.globalData?.contents.every((b) => b === 0));
  assert.ok(ro.globalData?.datasecId && c.btf?.type(ro.globalData.datasecId).kind === "datasec");
  const bump = relocs(c, "bump");
  assert.ok(bump.every((r) => r.kind === "data"));
  const byName = new Map(bump.map((r) => [r.symbol, r]));
  assert.equal(byName.get("multiplier"), {
    kind: "data",
    insn: (byName.get("multiplier") as RelocationSpec).insn,
    symbol: "multiplier",
    map: "globals.rodata",
    offset: 0,
  });
  assert.is((byName.get("total") as { map: string }).map, "globals.bss");
  assert.is((byName.get("bias") as { map: string }).map, "globals.data");
});

test("calls.bpf.o: static and global subprograms in .text, pc-relative calls, bpf_loop callback", () => {
  const c = load("calls.bpf.o");
  assert.equal(c.programs.map((p) => p.name).sort(), [
    "calc_chain",
    "calc_global",
    "calc_loop",
    "on_sys_enter",
  ]);
  const byName = new Map([...c.functions.values()].map((f) => [f.name, f]));
  for (const sub of ["square", "inner", "middle", "outer", "mix", "sum_cb"]) {
    const f = byName.get(sub);
    assert.ok(f, sub);
    assert.is(f?.section, ".text");
    assert.not.ok(
      c.programs.some((p) => p.name === sub),
      `${sub} is not a program`,
    );
  }
  assert.is(byName.get("mix")?.global, true);
  assert.is(byName.get("square")?.global, false);
  const target = (prog: string, kind: string) =>
    relocs(c, prog)
      .filter((r) => r.kind === kind)
      .map((r) => c.functions.get((r as { target: string }).target)?.name);
  assert.equal(target("calc_chain", "call"), ["outer"]);
  assert.equal(target("calc_global", "call"), ["mix"]);
  assert.equal(target("calc_loop", "func"), ["sum_cb"]);
  // Calls between statics in .text carry no ELF relocation: we derive them pc-relative.
  const chain = (name: string) =>
    byName
      .get(name)
      ?.relocations.filter((r) => r.kind === "call")
      .map((r) => c.functions.get((r as { target: string }).target)?.name);
  assert.equal(chain("outer"), ["middle"]);
  assert.equal(chain("middle"), ["inner"]);
  assert.equal(chain("mix"), ["square"]);
  assert.is(map(c, "results").type, BPF_MAP_TYPE.ARRAY);
});

test("core.bpf.o: kconfig and ksym externs, .kconfig map sized like libbpf lays it out", () => {
  const c = load("core.bpf.o");
  const kc = c.externs.filter((e) => e.kind === "kconfig");
  const ks = c.externs.filter((e) => e.kind === "ksym");
  assert.ok(kc.some((e) => e.name === "LINUX_KERNEL_VERSION" && !e.weak && e.size === 4));
  assert.ok(kc.some((e) => e.name === "CONFIG_HZ" && e.weak));
  assert.ok(ks.some((e) => e.name === "bpf_task_from_pid"));
  for (const e of kc) assert.is(e.offset % Math.min(e.size, 8), 0, `${e.name} aligned`);
  const kmap = map(c, "core.kconfig");
  const end = Math.max(...kc.map((e) => e.offset + e.size));
  assert.is(kmap.valueSize, end);
  assert.is(kmap.globalData?.readonly, true);
  const ext = relocs(c, "probe").filter((r) => r.kind === "extern");
  assert.ok(ext.some((r) => r.kind === "extern" && r.name === "LINUX_KERNEL_VERSION"));
  assert.ok(relocs(c, "on_exec").some((r) => r.kind === "extern" && r.name === "bpf_task_from_pid"));
});

test("attach.bpf.o and fentry.bpf.o: program types from SEC() names", () => {
  const a = load("attach.bpf.o");
  const t = (c: CollectionSpec, n: string) => c.programs.find((p) => p.name === n);
  assert.equal(
    [t(a, "tp_getppid")?.progType, t(a, "tp_getppid")?.attachTo],
    [BPF_PROG_TYPE.TRACEPOINT, "syscalls/sys_enter_getppid"],
  );
  assert.is(t(a, "raw_sys_enter")?.progType, BPF_PROG_TYPE.RAW_TRACEPOINT);
  assert.is(t(a, "btf_fork")?.attach, "tp_btf");
  const f = load("fentry.bpf.o");
  assert.is(t(f, "fentry_getpgid")?.attach, "fentry");
  assert.is(t(f, "fexit_getpgid")?.attachTo, "__x64_sys_getpgid");
});

test("BTF.ext records are split per function with function-relative instruction indexes", () => {
  for (const path of committedObjects()) {
    const c = readCollectionSpec(new Uint8Array(readFileSync(path)), basename(path));
    if (!c.btfExt) continue;
    for (const f of c.functions.values()) {
      const n = f.insns.length / 8;
      // Every function starts with its func_info record (the kernel requires insn_off 0 first).
      assert.is(f.funcInfo[0]?.insn, 0, `${path} ${f.name}: func_info at insn 0`);
      assert.is(
        c.btf?.nameOf(f.funcInfo[0]?.typeId ?? 0),
        f.name,
        `${path} ${f.name}: func_info names the function`,
      );
      assert.ok(f.lineInfo.length > 0, `${path} ${f.name}: line_info`);
      for (const l of f.lineInfo) assert.ok(l.insn >= 0 && l.insn < n);
      for (const r of f.coreRelos) assert.ok(r.insn >= 0 && r.insn < n);
    }
  }
  const core = load("core.bpf.o");
  const probe = core.programs.find((p) => p.name === "probe");
  assert.ok((probe?.coreRelos.length ?? 0) > 0, "core.bpf.o probe has CO-RE relocations");
});

test.run();
