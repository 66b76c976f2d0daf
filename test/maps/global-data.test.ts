import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readCollectionSpec } from "../../src/elf/collection.ts";
import { GlobalData, GlobalDataError, setRodata } from "../../src/maps/global-data.ts";
import { SyscallError } from "../../src/sys/bpf.ts";
import { privileged } from "../helpers/env.ts";

const run = privileged("global data maps");
const load = () =>
  readCollectionSpec(new Uint8Array(readFileSync("test/fixtures/globals.bpf.o")), "globals.bpf.o");
const find = (s: ReturnType<typeof load>, sec: string) => s.maps.find((m) => m.globalData?.section === sec)!;

test("setRodata edits contents before load, with clear errors", () => {
  const s = load();
  const ro = find(s, ".rodata");
  const before = ro.globalData!.contents;
  setRodata(ro, s.btf!, { multiplier: 3, use_bias: true, target_tgid: 1234 });
  const dv = new DataView(ro.globalData!.contents.buffer, ro.globalData!.contents.byteOffset);
  const vars = new Map<string, number>();
  const sec = s.btf!.type(ro.globalData!.datasecId);
  if (sec.kind === "datasec") for (const v of sec.vars) vars.set(s.btf!.type(v.type).name, v.offset);
  assert.is(dv.getUint32(vars.get("multiplier")!, true), 3);
  assert.is(ro.globalData!.contents[vars.get("use_bias")!], 1);
  assert.is(dv.getUint32(vars.get("target_tgid")!, true), 1234);
  assert.ok(before !== ro.globalData!.contents, "the ELF bytes are not modified in place");
  assert.throws(
    () => setRodata(ro, s.btf!, { nope: 1 }),
    /no variable 'nope' in \.rodata \(variables: multiplier, use_bias, target_tgid\)/,
  );
  assert.throws(() => setRodata(ro, s.btf!, { multiplier: -1 }), /multiplier: -1 does not fit/);
  assert.throws(
    () => setRodata(ro, s.btf!, { multiplier: 2 ** 32 }),
    (e: unknown) => e instanceof GlobalDataError && /does not fit/.test((e as Error).message),
  );
});

test(".rodata: created frozen; user-space update fails with EPERM; vars readable, not writable", () => {
  if (!run) return;
  const s = load();
  const ro = find(s, ".rodata");
  setRodata(ro, s.btf!, { multiplier: 7 });
  using g = GlobalData.create(ro, s.btf);
  assert.is(g.vars.multiplier, 7);
  assert.is(g.vars.use_bias, false);
  const info = g.map.info();
  assert.ok(info.map_flags & (1 << 7), "BPF_F_RDONLY_PROG");
  try {
    g.map.update(0, new Uint8Array(ro.valueSize));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, SyscallError);
    assert.is((e as SyscallError).code, "EPERM");
  }
  assert.throws(() => {
    g.vars.multiplier = 1;
  }, /read-only \(frozen\)/);
});

test(".data/.bss: mmap view and syscalls see the same memory", () => {
  if (!run) return;
  const s = load();
  using data = GlobalData.create(find(s, ".data"), s.btf);
  using bss = GlobalData.create(find(s, ".bss"), s.btf);
  // initial contents from the ELF
  assert.is(data.vars.bias, 1000n);
  assert.is(data.vars.greeting, "tsbpf");
  assert.is(data.vars.last_amount, -1);
  assert.is(bss.vars.calls, 0n);
  // write through the view → visible to BPF_MAP_LOOKUP_ELEM
  bss.vars.calls = 41n;
  bss.vars.last_msg = "hello";
  data.vars.last_amount = -7;
  const raw = bss.map.lookup(0) as Uint8Array;
  const rdv = new DataView(raw.buffer);
  assert.is(rdv.getBigUint64(0, true), 41n);
  assert.is(new DataView((data.map.lookup(0) as Uint8Array).buffer).getInt32(16, true), -7);
  // write with a syscall → visible through the view
  const upd = new Uint8Array(raw);
  new DataView(upd.buffer).setBigUint64(8, 99n, true);
  bss.map.update(0, upd);
  assert.is(bss.vars.total, 99n);
  assert.is(bss.vars.last_msg, "hello");
  assert.is(bss.view?.getBigUint64(8, true), 99n);
  assert.throws(() => {
    bss.vars.calls = -1n;
  }, /calls: -1 does not fit/);
  assert.throws(() => {
    (bss.vars as Record<string, unknown>).nope = 1;
  });
});

test.run();
