import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readCollectionSpec } from "../../src/elf/collection.ts";
import { BpfMap, kernelObjectName } from "../../src/maps/map.ts";
import type { MapSpec } from "../../src/spec.ts";
import { btfLoad, closeFd, progInfo, progLoad, SyscallError } from "../../src/sys/bpf.ts";
import { numPossibleCpus } from "../../src/sys/cpus.ts";
import { encodeProbeBtf } from "../../src/sys/features.ts";
import { BPF_NOEXIST, BPF_PROG_TYPE } from "../../src/uapi.ts";
import { haveTool, privileged } from "../helpers/env.ts";

const run = privileged("BpfMap tests");
const spec = readCollectionSpec(new Uint8Array(readFileSync("test/fixtures/maps.bpf.o")), "maps.bpf.o");
const btf = spec.btf!;
const S = (n: string): MapSpec => spec.maps.find((m) => m.name === n)!;
const created: number[] = [];
const track = (m: BpfMap) => {
  created.push(m.info().id);
  return m;
};

test("kernel object names: filtered and truncated to 15", () => {
  assert.is(kernelObjectName("my-map:with/bad chars_and_long"), "mymapwithbadcha");
  assert.is(kernelObjectName("globals.rodata"), "globals.rodata");
});

test("hash with BTF: JS objects round-trip, keys(), entries(), NOEXIST → EEXIST", () => {
  if (!run) return;
  using m = track(BpfMap.create(S("flows"), { btf }));
  const k1 = { id: 1, port: 80, proto: 6, tag: "web" };
  const v1 = { count: 5n, delta: -2, state: 1, samples: [1, 2, 3], flag_a: 1, flag_b: 7 };
  m.update(k1, v1);
  m.update({ id: 2, port: 53, proto: 17, tag: "dns" }, { count: 9n });
  assert.equal(m.lookup(k1), v1);
  assert.is(m.lookup({ id: 3 }), undefined);
  const keys = [...m.keys()] as { id: number }[];
  assert.equal(keys.map((k) => k.id).sort(), [1, 2]);
  const entries = [...m.entries()] as [{ id: number }, { count: bigint }][];
  assert.is(entries.find(([k]) => k.id === 2)?.[1].count, 9n);
  try {
    m.update(k1, v1, BPF_NOEXIST);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, SyscallError);
    assert.match((e as Error).message, /bpf\(BPF_MAP_UPDATE_ELEM\) map 'flows': already exists \(EEXIST\)/);
  }
  assert.ok(m.delete(k1));
  assert.not.ok(m.delete(k1));
});

test("btf_fd/btf_key_type_id/btf_value_type_id reach the kernel", () => {
  if (!run) return;
  // The object's own .BTF needs loader fix-ups before the kernel takes it; a hand-made
  // blob with [1] = int is enough to check that the ids are passed.
  const fd = btfLoad({
    btf: encodeProbeBtf([{ name: "int", kind: 1, sizeOrType: 4, extra: [(1 << 24) | 32] }]),
  });
  try {
    const s: MapSpec = {
      ...S("lru_hash"),
      name: "btf_typed",
      valueSize: 4,
      btfKeyTypeId: 1,
      btfValueTypeId: 1,
    };
    using m = track(BpfMap.create(s, { btfFd: fd }));
    const info = m.info();
    assert.ok(info.btf_id > 0);
    assert.is(info.btf_key_type_id, 1);
    assert.is(info.btf_value_type_id, 1);
    // ringbuf: BTF is never passed even when ids are set
    using r = track(BpfMap.create({ ...S("events"), btfKeyTypeId: 1, btfValueTypeId: 1 }, { btfFd: fd }));
    assert.is(r.info().btf_id, 0);
  } finally {
    closeFd(fd);
  }
});

test("array, lru_hash: numbers as keys/values", () => {
  if (!run) return;
  using a = track(BpfMap.create(S("array"), { btf }));
  a.update(2, { hits: 3n, last: 4n });
  assert.equal(a.lookup(2), { hits: 3n, last: 4n });
  assert.equal(a.lookup(0), { hits: 0n, last: 0n });
  using l = track(BpfMap.create(S("lru_hash"), { btf }));
  l.update(7, 70n);
  assert.is(l.lookup(7), 70n);
  // without BTF: bytes back
  using raw = track(BpfMap.create(S("lru_hash")));
  raw.update(1, 258n);
  assert.equal([...(raw.lookup(1) as Uint8Array)], [2, 1, 0, 0, 0, 0, 0, 0]);
});

test("per-CPU maps: one value per possible CPU", () => {
  if (!run) return;
  const n = numPossibleCpus();
  for (const name of ["percpu_hash", "percpu_array", "lru_percpu_hash"]) {
    using m = track(BpfMap.create(S(name), { btf }));
    const isU32 = name === "lru_percpu_hash";
    const signed = name === "percpu_hash"; // __s64 values; percpu_array is __u64
    const vals = Array.from({ length: n }, (_, i) => (isU32 ? i + 10 : BigInt(signed ? -(i + 10) : i + 10)));
    const key = name === "percpu_hash" ? 5n : 1;
    m.update(key, vals);
    assert.equal(m.lookup(key), vals, name);
    m.update(key, isU32 ? 3 : 3n); // one value for every CPU
    assert.equal(m.lookup(key), Array(n).fill(isU32 ? 3 : 3n), name);
  }
});

test("batch ops: lookupBatch, deleteBatch, lookupAndDeleteBatch", () => {
  if (!run) return;
  using m = track(BpfMap.create(S("hash"), { btf }));
  for (let i = 0; i < 100; i++) m.update(i, { count: BigInt(i) });
  const all = m.lookupBatch() as [number, { count: bigint }][];
  assert.is(all.length, 100);
  assert.ok(all.every(([k, v]) => v.count === BigInt(k)));
  assert.is(m.deleteBatch([0, 1, 2, 1000, 3]), 4);
  assert.is([...m.keys()].length, 96);
  const drained = m.lookupAndDeleteBatch();
  assert.is(drained.length, 96);
  assert.is([...m.keys()].length, 0);
  using pa = track(BpfMap.create(S("percpu_array"), { btf }));
  pa.update(1, 7n);
  const pe = pa.lookupBatch() as [number, bigint[]][];
  assert.equal(pe[1], [1, Array(numPossibleCpus()).fill(7n)]);
});

test("ringbuf and perf_event_array create (perf max_entries 0 → possible CPUs)", () => {
  if (!run) return;
  using r = track(BpfMap.create(S("events"), { btf }));
  assert.is(r.info().max_entries, 16384);
  using p = track(BpfMap.create(S("perf_events"), { btf }));
  assert.is(p.info().max_entries, numPossibleCpus());
});

test("array_of_maps / hash_of_maps hold inner maps; prog_array holds a program", () => {
  if (!run) return;
  using inner = track(BpfMap.create(S("inner"), { btf }));
  inner.update(1, 11);
  using aom = track(BpfMap.create(S("array_of_maps"), { btf }));
  aom.update(0, inner);
  const id = new DataView((aom.lookup(0) as Uint8Array).buffer).getUint32(0, true);
  assert.is(id, inner.info().id, "lookup of a map-in-map slot gives the inner map id");
  using hom = track(BpfMap.create(S("hash_of_maps"), { btf }));
  using hinner = track(BpfMap.create(S("hash_of_maps").inner!));
  hom.update(42, hinner.fd);
  assert.ok(hom.lookup(42) instanceof Uint8Array);
  using pa = track(BpfMap.create(S("prog_array"), { btf }));
  const ret0 = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  const prog = progLoad({ prog_type: BPF_PROG_TYPE.SOCKET_FILTER, insns: ret0, license: "GPL" });
  try {
    pa.update(0, prog);
    // user-space lookup of a prog_array slot gives the program id (u32 via BTF here)
    assert.is(pa.lookup(0), progInfo(prog).id);
    assert.ok(pa.delete(0));
  } finally {
    closeFd(prog);
  }
});

test("wrong shapes give MapError/CodecError naming the map", () => {
  if (!run) return;
  using m = track(BpfMap.create(S("lru_hash")));
  assert.throws(() => m.update(new Uint8Array(3), 1n), /map 'lru_hash' key: 3 bytes given, expected 4/);
  assert.throws(() => m.update(1, { a: 1 }), /cannot encode object without BTF/);
  m.close();
  assert.throws(() => m.lookup(1), /map 'lru_hash' is closed/);
});

test("no leaks: closed maps are gone from bpftool map list", () => {
  if (!run || !haveTool("bpftool")) return;
  const listed = JSON.parse(execFileSync("bpftool", ["map", "list", "-j"], { encoding: "utf8" })) as {
    id: number;
  }[];
  const ids = new Set(listed.map((x) => x.id));
  assert.ok(created.length >= 15);
  for (const id of created) assert.not.ok(ids.has(id), `map id ${id} still exists`);
});

test.run();
