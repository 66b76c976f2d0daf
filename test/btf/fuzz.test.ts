// Fuzz: mutated and truncated BTF (an object's .BTF and a re-encoded ~200 KB prefix
// of vmlinux) must end in success or BtfError, never another exception or a hang.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Btf } from "../../src/btf/btf.ts";
import { dumpRaw } from "../../src/btf/dump.ts";
import { encodeBtf } from "../../src/btf/encode.ts";
import { BtfError } from "../../src/btf/errors.ts";
import { parseBtfExt } from "../../src/btf/ext.ts";
import { formatAccess, formatType, formatTypeDecl } from "../../src/btf/format.ts";
import type { BtfType } from "../../src/btf/types.ts";
import { haveTool } from "../helpers/env.ts";
import { btfBlob, committedObjects, compileFixture, elfSection } from "./helpers.ts";

/** Copy of `t` with every type reference ≥ max replaced by 0 (void), so a prefix stays valid. */
function clampRefs(t: BtfType, max: number): BtfType {
  const c = (id: number) => (id >= max ? 0 : id);
  switch (t.kind) {
    case "ptr":
    case "typedef":
    case "const":
    case "volatile":
    case "restrict":
    case "type_tag":
    case "func":
    case "var":
    case "decl_tag":
      return { ...t, type: c(t.type) };
    case "array":
      return { ...t, type: c(t.type), indexType: c(t.indexType) };
    case "struct":
    case "union":
      return { ...t, members: t.members.map((m) => ({ ...m, type: c(m.type) })) };
    case "func_proto":
      return { ...t, returnType: c(t.returnType), params: t.params.map((p) => ({ ...p, type: c(p.type) })) };
    case "datasec":
      return { ...t, vars: t.vars.map((v) => ({ ...v, type: c(v.type) })) };
    default:
      return t;
  }
}

function vmlinuxPrefix(targetBytes: number): Uint8Array {
  const v = Btf.parse(readFileSync("/sys/kernel/btf/vmlinux"));
  // Types average ~25 bytes of records plus strings; grow until the blob is big enough.
  let n = 2000;
  for (;;) {
    const types: BtfType[] = [];
    for (let id = 1; id <= n && id < v.length; id++) types.push(clampRefs(v.type(id), n + 1));
    const bytes = encodeBtf(types);
    if (bytes.length >= targetBytes || n >= v.length) return bytes;
    n = Math.ceil((n * targetBytes) / bytes.length);
  }
}

/** Everything a user of a parsed blob might do; any failure must be a BtfError. */
function exercise(bytes: Uint8Array, ext?: Uint8Array): void {
  let btf: Btf;
  try {
    btf = Btf.parse(bytes, { name: "fuzz.btf" });
  } catch (e) {
    if (e instanceof BtfError) return;
    throw e;
  }
  const steps: (() => unknown)[] = [
    () => btf.parseAll(),
    () => dumpRaw(btf),
    () => btf.findByName("task_struct"),
  ];
  for (const s of steps) {
    try {
      s();
    } catch (e) {
      if (!(e instanceof BtfError)) throw e;
    }
  }
  for (let id = 0; id < btf.length; id++) {
    for (const f of [formatType, formatTypeDecl] as const) {
      try {
        f(btf, id);
      } catch (e) {
        if (!(e instanceof BtfError)) throw e;
      }
    }
    try {
      if (btf.kind(id) !== "void") {
        btf.resolve(id);
        btf.sizeof(id);
      }
    } catch (e) {
      if (!(e instanceof BtfError)) throw e;
    }
  }
  if (ext) {
    try {
      const x = parseBtfExt(ext, btf, "fuzz.o");
      for (const [, rs] of x.coreRelos) for (const r of rs) formatAccess(btf, r.typeId, r.accessStr);
    } catch (e) {
      if (!(e instanceof BtfError)) throw e;
    }
  }
}

type Mutation = { op: "flip" | "u32" | "truncate"; pos: number; val: number; header: boolean };
const mutation = fc.record({
  op: fc.constantFrom<Mutation["op"]>("flip", "flip", "u32", "u32", "truncate"),
  pos: fc.nat(),
  val: fc.oneof(fc.nat(), fc.constantFrom(0, 1, 0xffff, 0xffffffff, 0x7fffffff, 0x80000000, 24, 12)),
  header: fc.boolean(),
});

function mutate(orig: Uint8Array, muts: Mutation[]): Uint8Array {
  let b = new Uint8Array(orig); // a copy
  for (const m of muts) {
    if (b.length === 0) break;
    // Half the mutations hit the header or the first type records, where lengths live.
    const pos = m.header ? m.pos % Math.min(b.length, 96) : m.pos % b.length;
    if (m.op === "flip") b[pos] ^= 1 << (m.val & 7);
    else if (m.op === "u32" && pos + 4 <= b.length) new DataView(b.buffer).setUint32(pos, m.val >>> 0, true);
    else if (m.op === "truncate") b = b.subarray(0, pos);
  }
  return b;
}

function run(name: string, blob: Uint8Array, numRuns: number, ext?: Uint8Array): void {
  const t0 = Date.now();
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (muts, mutExt) => {
      if (ext && mutExt) exercise(blob, mutate(ext, muts));
      else exercise(mutate(blob, muts), ext);
    }),
    { numRuns, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 1e9) },
  );
  console.log(`  ${name}: ${numRuns} cases in ${Date.now() - t0} ms`);
}

test("object .BTF/.BTF.ext: 4000 mutations end in success or BtfError", () => {
  let obj = committedObjects()[0];
  if (!obj && haveTool("clang-19")) obj = compileFixture("kinds.bpf.c");
  assert.ok(obj, "no object to fuzz");
  const f = readFileSync(obj);
  const btf = elfSection(f, ".BTF") as Uint8Array;
  const ext = elfSection(f, ".BTF.ext");
  exercise(btf, ext); // the unmutated input works
  run(obj, btf, 4000, ext ? new Uint8Array(ext) : undefined);
});

test("vmlinux prefix (~200 KB, re-encoded): 1000 mutations end in success or BtfError", () => {
  const blob = vmlinuxPrefix(200 * 1024);
  assert.ok(blob.length >= 200 * 1024);
  const ok = Btf.parse(blob);
  ok.parseAll();
  dumpRaw(ok);
  run("vmlinux prefix", blob, 1000);
});

test("hand-made edge cases", () => {
  const expectErr = (b: Uint8Array, re: RegExp) => {
    try {
      Btf.parse(b, { name: "/x/y.o" }).parseAll();
      assert.unreachable("expected BtfError");
    } catch (e) {
      assert.instance(e, BtfError);
      assert.match((e as Error).message, /^bad BTF in \/x\/y\.o: /);
      assert.match((e as Error).message, re);
    }
  };
  expectErr(new Uint8Array(3), /too short/);
  {
    const { b } = btfBlob(0, 1);
    b[2] = 2;
    expectErr(b, /version 2, expected 1/);
  }
  {
    // A STRUCT claiming 70000 members... vlen is 16 bits, so 0xffff members in 12 bytes.
    const { b, dv } = btfBlob(12, 1);
    dv.setUint32(24 + 4, (4 << 24) | 0xffff, true);
    expectErr(b, /type #1 at offset 0x18: vlen 65535 of struct runs past end of type section/);
  }
  {
    const { b, dv } = btfBlob(12, 1);
    dv.setUint32(24 + 4, 25 << 24, true);
    expectErr(b, /unknown kind 25/);
  }
  {
    const { b, dv } = btfBlob(12, 1);
    dv.setUint32(24 + 4, 2 << 24, true); // PTR to type 5, which does not exist
    dv.setUint32(24 + 8, 5, true);
    expectErr(b, /refers to type id 5, which does not exist \(expected < 2\)/);
  }
  {
    const { b, dv } = btfBlob(12, 1);
    dv.setUint32(24, 999, true); // name_off past the strings
    dv.setUint32(24 + 4, 2 << 24, true);
    expectErr(b, /string offset 999 out of range/);
  }
  {
    // const cycle 1 -> 2 -> 1: resolve(), sizeof() and formatType() must not hang.
    const { b, dv } = btfBlob(24, 1);
    dv.setUint32(24 + 4, 10 << 24, true);
    dv.setUint32(24 + 8, 2, true);
    dv.setUint32(36 + 4, 10 << 24, true);
    dv.setUint32(36 + 8, 1, true);
    const btf = Btf.parse(b);
    btf.parseAll();
    assert.throws(
      () => btf.resolve(1),
      (e: unknown) => e instanceof BtfError,
    );
    assert.throws(
      () => btf.sizeof(1),
      (e: unknown) => e instanceof BtfError,
    );
    assert.throws(
      () => formatType(btf, 1),
      (e: unknown) => e instanceof BtfError,
    );
  }
  {
    const { b } = btfBlob(0, 2);
    b[24] = 0;
    b[25] = 65; // string section not NUL-terminated
    expectErr(b, /does not end with NUL/);
  }
});

test.run();
