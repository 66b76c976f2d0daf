// .kconfig and __ksym extern resolution: typed storage rules, errors naming the
// extern, weak defaults, kallsyms parsing, kfunc prototype checks; plus the target
// BTF selection (--btf raw file or ELF, missing file).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Btf } from "../../src/btf/btf.ts";
import { ExternError, KernelBtfError } from "../../src/core/errors.ts";
import { resolveExterns } from "../../src/core/externs.ts";
import { kernelVersionCode, parseKernelConfig, setKconfigValue } from "../../src/core/kconfig.ts";
import { readTargetBtf } from "../../src/loader/target-btf.ts";
import type { CollectionSpec, ExternSpec } from "../../src/spec.ts";
import { BtfBuilder } from "./btf-builder.ts";

// Local object BTF: one VAR per storage kind.
function localBtf() {
  const b = new BtfBuilder();
  const boolT = b.add({
    kind: "int",
    name: "_Bool",
    size: 1,
    signed: false,
    char: false,
    bool: true,
    bitsOffset: 0,
    bits: 8,
  });
  const charT = b.add({
    kind: "int",
    name: "char",
    size: 1,
    signed: true,
    char: true,
    bool: false,
    bitsOffset: 0,
    bits: 8,
  });
  const intT = b.int("int", 4, true);
  const u8T = b.int("unsigned char", 1);
  const u16T = b.int("unsigned short", 2);
  const tri = b.enum("libbpf_tristate", [
    ["TRI_NO", 0],
    ["TRI_YES", 1],
    ["TRI_MODULE", 2],
  ]);
  const str = b.array(charT, 8, intT);
  const other = b.enum("other_enum", [["X", 0]]);
  const v = (name: string, type: number) => b.add({ kind: "var", name, type, linkage: 2 });
  const ids = {
    bool: v("CONFIG_B", boolT),
    char: v("CONFIG_C", charT),
    int: v("CONFIG_I", intT),
    u16: v("CONFIG_U16", u16T),
    u8: v("CONFIG_U8", u8T),
    tri: v("CONFIG_T", tri),
    str: v("CONFIG_S", str),
    other: v("CONFIG_O", other),
  };
  return { btf: b.build("local"), ids };
}

function ext(name: string, btfId: number, offset: number, size: number, weak = false): ExternSpec {
  return { name, kind: "kconfig", btfId, offset, size, weak };
}

test("kernel version code clamps the patch level to 255", () => {
  assert.is(kernelVersionCode("6.18.44-fc-v782"), (6 << 16) | (18 << 8) | 44);
  assert.is(kernelVersionCode("5.4.300"), (5 << 16) | (4 << 8) | 255);
  assert.is(kernelVersionCode("6.1"), (6 << 16) | (1 << 8));
  assert.throws(() => kernelVersionCode("banana"), /cannot parse kernel release "banana"/);
});

test("config parsing keeps CONFIG_ lines and skips 'is not set' comments", () => {
  const m = parseKernelConfig(
    'CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="hello"\nCONFIG_D=0x10\nOTHER=1\n',
  );
  assert.equal(
    [...m],
    [
      ["CONFIG_A", "y"],
      ["CONFIG_C", '"hello"'],
      ["CONFIG_D", "0x10"],
    ],
  );
});

test("values are stored by the extern's type", () => {
  const { btf, ids } = localBtf();
  const buf = new Uint8Array(32);
  setKconfigValue(btf, ext("CONFIG_B", ids.bool, 0, 1), "y", buf, "t");
  setKconfigValue(btf, ext("CONFIG_C", ids.char, 1, 1), "m", buf, "t");
  setKconfigValue(btf, ext("CONFIG_T", ids.tri, 4, 4), "m", buf, "t");
  setKconfigValue(btf, ext("CONFIG_I", ids.int, 8, 4), "-5", buf, "t");
  setKconfigValue(btf, ext("CONFIG_U16", ids.u16, 12, 2), "0x1234", buf, "t");
  setKconfigValue(btf, ext("CONFIG_S", ids.str, 16, 8), '"truncated-string"', buf, "t");
  assert.is(buf[0], 1);
  assert.is(buf[1], "m".charCodeAt(0));
  assert.is(new DataView(buf.buffer).getInt32(4, true), 2); // TRI_MODULE
  assert.is(new DataView(buf.buffer).getInt32(8, true), -5);
  assert.is(new DataView(buf.buffer).getUint16(12, true), 0x1234);
  assert.is(Buffer.from(buf.subarray(16, 24)).toString("latin1"), "truncat\0");
});

test("mismatching values are errors that name the extern", () => {
  const { btf, ids } = localBtf();
  const buf = new Uint8Array(32);
  assert.throws(
    () => setKconfigValue(btf, ext("CONFIG_B", ids.bool, 0, 1), "m", buf, "cfg"),
    /CONFIG_B.*'m'.*bool/,
  );
  // A 1-byte integer is a "char" for libbpf: y/n/m are stored as letters; wider ints refuse them.
  setKconfigValue(btf, ext("CONFIG_U8", ids.u8, 0, 1), "y", buf, "cfg");
  assert.is(buf[0], "y".charCodeAt(0));
  assert.throws(
    () => setKconfigValue(btf, ext("CONFIG_U16", ids.u16, 0, 2), "y", buf, "cfg"),
    (e: Error) => e instanceof ExternError,
  );
  assert.throws(
    () => setKconfigValue(btf, ext("CONFIG_I", ids.int, 0, 4), '"str"', buf, "cfg"),
    /CONFIG_I.*char array/,
  );
  assert.throws(
    () => setKconfigValue(btf, ext("CONFIG_U16", ids.u16, 0, 2), "70000", buf, "cfg"),
    /does not fit in 2 bytes/,
  );
  assert.throws(() => setKconfigValue(btf, ext("CONFIG_O", ids.other, 0, 4), "y", buf, "cfg"), /CONFIG_O/);
  assert.throws(
    () => setKconfigValue(btf, ext("CONFIG_I", ids.int, 0, 4), "12abc", buf, "cfg"),
    /not a number/,
  );
});

function fakeSpec(btf: Btf, externs: ExternSpec[], kconfigSize: number): CollectionSpec {
  return {
    path: "fake.o",
    license: "GPL",
    kernelVersion: 0,
    programs: [],
    functions: new Map(),
    maps: [
      {
        name: "fake.kconfig",
        type: 2,
        typeName: "array",
        keySize: 4,
        valueSize: kconfigSize,
        maxEntries: 1,
        flags: 0,
        numaNode: 0,
        mapExtra: 0n,
        pinning: "none",
        btfKeyTypeId: 0,
        btfValueTypeId: 0,
        globalData: {
          section: ".kconfig",
          contents: new Uint8Array(kconfigSize),
          datasecId: 0,
          readonly: true,
        },
      },
    ],
    externs,
    btf,
    btfExt: undefined,
  };
}

test("resolveExterns: builtins, config values, weak defaults, missing non-weak", () => {
  const { btf, ids } = localBtf();
  const kernel = localBtf().btf; // any BTF: only ksyms look into it
  const spec = fakeSpec(
    btf,
    [
      ext("LINUX_KERNEL_VERSION", ids.int, 0, 4),
      ext("CONFIG_I", ids.int, 4, 4),
      ext("CONFIG_T", ids.tri, 8, 4, true),
    ],
    12,
  );
  const r = resolveExterns(spec, kernel, { release: "5.15.2", config: "CONFIG_I=250\n" });
  const dv = new DataView((r.kconfig as Uint8Array).buffer);
  assert.is(dv.getUint32(0, true), (5 << 16) | (15 << 8) | 2);
  assert.is(dv.getInt32(4, true), 250);
  assert.is(dv.getInt32(8, true), 0);
  assert.ok(r.explain.some((e) => e.name === "CONFIG_T" && e.value.startsWith("0 (weak")));
  const strict = fakeSpec(btf, [ext("CONFIG_I", ids.int, 0, 4)], 4);
  assert.throws(
    () => resolveExterns(strict, kernel, { release: "6.1.0", config: "" }),
    /kconfig extern 'CONFIG_I': not set/,
  );
});

test("resolveExterns: typeless ksym from kallsyms, kfunc by BTF with prototype check", () => {
  const lb = new BtfBuilder();
  const intT = lb.int("int", 4, true);
  const voidVar = lb.add({ kind: "var", name: "_stext", type: 0, linkage: 2 });
  const proto = lb.add({
    kind: "func_proto",
    name: "",
    returnType: intT,
    params: [{ name: "x", type: intT }],
    variadic: false,
  });
  const fn = lb.add({ kind: "func", name: "my_kfunc", type: proto, linkage: 2 });
  const badProto = lb.add({ kind: "func_proto", name: "", returnType: intT, params: [], variadic: false });
  const bad = lb.add({ kind: "func", name: "other_kfunc", type: badProto, linkage: 2 });
  const local = lb.build("local");
  const kb = new BtfBuilder();
  const kint = kb.int("int", 4, true);
  const kproto = kb.add({
    kind: "func_proto",
    name: "",
    returnType: kint,
    params: [{ name: "p", type: kint }],
    variadic: false,
  });
  const kfn = kb.add({ kind: "func", name: "my_kfunc", type: kproto, linkage: 1 });
  kb.add({ kind: "func", name: "other_kfunc", type: kproto, linkage: 1 });
  const kernel = kb.build("kernel");
  const ks = (name: string, btfId: number, weak = false): ExternSpec => ({
    name,
    kind: "ksym",
    btfId,
    offset: 0,
    size: 0,
    weak,
  });
  const kallsyms = "ffffffff81000000 T _stext\nffffffff81000010 T other\n";
  const r = resolveExterns(fakeSpec(local, [ks("_stext", voidVar), ks("my_kfunc", fn)], 4), kernel, {
    kallsyms,
    modules: [],
  });
  assert.equal(r.ksyms.get("_stext"), { btfId: 0, btfObjFd: 0, kind: "var", addr: 0xffffffff81000000n });
  assert.equal(r.ksyms.get("my_kfunc"), { btfId: kfn, btfObjFd: 0, kind: "func" });
  assert.throws(
    () => resolveExterns(fakeSpec(local, [ks("other_kfunc", bad)], 4), kernel, { kallsyms, modules: [] }),
    /ksym function 'other_kfunc': its declared type is incompatible/,
  );
  const weak = resolveExterns(fakeSpec(local, [ks("other_kfunc", bad, true)], 4), kernel, {
    kallsyms,
    modules: [],
  });
  assert.is(weak.ksyms.has("other_kfunc"), false);
  assert.throws(
    () =>
      resolveExterns(fakeSpec(local, [ks("_stext", voidVar)], 4), kernel, {
        kallsyms: "0000000000000000 T _stext\n",
        modules: [],
      }),
    /address 0/,
  );
});

test("target BTF: raw BTF file, ELF .BTF, missing and bad files", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-btf-"));
  try {
    const b = new BtfBuilder();
    b.int("int", 4, true);
    const raw = join(dir, "hub.btf");
    writeFileSync(raw, b.build("x").raw);
    assert.is(readTargetBtf(raw).name, raw);
    assert.ok(readTargetBtf("test/fixtures/core.bpf.o").findByName("task_struct").length > 0);
    assert.throws(
      () => readTargetBtf(join(dir, "missing")),
      (e: Error) => e instanceof KernelBtfError && /no such file/.test(e.message),
    );
    const junk = join(dir, "junk");
    writeFileSync(junk, "hello");
    assert.throws(() => readTargetBtf(junk), /neither raw BTF \(magic 0xeb9f\) nor an ELF object/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
