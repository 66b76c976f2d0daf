// What the code writes into bpf_attr and the constants it passes, checked against oracles
// nobody here wrote: bpftool's own BTF decoder (`bpftool btf dump file vmlinux`, raw
// format) for every field offset of every layout in src/sys/bpf-attr.ts, and clang with
// Debian's /usr/include/linux/bpf.h (offsetof/sizeof of the same fields, the value of
// every #define src/uapi.ts writes out and of every generated enumerator). The header is
// older than the kernel: what it lacks is checked by bpftool only.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as A from "../../src/sys/bpf-attr.ts";
import * as G from "../../src/uapi.gen.ts";
import * as U from "../../src/uapi.ts";
import { haveTool, inCI } from "../helpers/env.ts";

const VMLINUX = "/sys/kernel/btf/vmlinux";
const HEADER = "/usr/include/linux/bpf.h";

/** Every layout bpf-attr.ts exports, by its export name. */
const LAYOUTS = Object.entries(A).filter(
  (e): e is [string, A.Layout] => Array.isArray(e[1]) && e[1].every((f) => Array.isArray(f)),
);

const SIZE: Record<A.FieldKind, number> = { u32: 4, s32: 4, u64: 8, ptr: 8, name16: 16 };

interface RawType {
  kind: string;
  name: string;
  type?: number;
  size?: number;
  /** bitfield: width in bits (0 otherwise) */
  members: { name: string; type: number; bits: number; width: number }[];
}

/** bpftool's raw dump: `[id] KIND 'name' ...` lines, members indented under them. */
function bpftoolTypes(): Map<number, RawType> {
  const r = spawnSync("bpftool", ["btf", "dump", "file", VMLINUX], { encoding: "utf8", maxBuffer: 1 << 28 });
  assert.is(r.status, 0, r.stderr);
  const types = new Map<number, RawType>();
  let cur: RawType | undefined;
  for (const line of r.stdout.split("\n")) {
    const head = /^\[(\d+)\] (\w+) '([^']*)'(.*)$/.exec(line);
    if (head) {
      const rest = head[4];
      cur = {
        kind: head[2],
        name: head[3],
        type: Number(/ type_id=(\d+)/.exec(rest)?.[1] ?? Number.NaN),
        size: Number(/ size=(\d+)/.exec(rest)?.[1] ?? Number.NaN),
        members: [],
      };
      types.set(Number(head[1]), cur);
      continue;
    }
    const m = /^\t'([^']*)' type_id=(\d+) bits_offset=(\d+)(?: bitfield_size=(\d+))?/.exec(line);
    if (m && cur)
      cur.members.push({
        name: m[1] === "(anon)" ? "" : m[1],
        type: Number(m[2]),
        bits: Number(m[3]),
        width: Number(m[4] ?? 0),
      });
  }
  return types;
}

type Flat = { member: string; fields: Map<string, number> }[];

/**
 * The members of bpftool's union bpf_attr and the structs `names`, fields flattened like
 * the generator's (anonymous members inline, named ones as `outer.inner`).
 */
function bpftoolLayouts(names: readonly string[]): { attr: Flat; structs: Map<string, Map<string, number>> } {
  const types = bpftoolTypes();
  const skip = new Set(["TYPEDEF", "CONST", "VOLATILE"]);
  const resolve = (id: number): RawType => {
    let t = types.get(id) as RawType;
    while (skip.has(t.kind)) t = types.get(t.type as number) as RawType;
    return t;
  };
  const flatten = (
    t: RawType,
    base: number,
    prefix: string,
    out: Map<string, number>,
  ): Map<string, number> => {
    for (const m of t.members) {
      if (m.name.startsWith("__")) continue; // reserved padding, not generated
      const mt = resolve(m.type);
      if (mt.kind === "STRUCT" || mt.kind === "UNION")
        flatten(mt, base + m.bits / 8, m.name ? `${prefix}${m.name}.` : prefix, out);
      else {
        // A bitfield is at the offset of its storage unit, as the generator records it.
        const unit = (mt.size ?? 0) * 8;
        out.set(`${prefix}${m.name}`, base + (m.width ? (Math.floor(m.bits / unit) * unit) / 8 : m.bits / 8));
      }
    }
    return out;
  };
  const named = (kind: string, name: string): RawType => {
    const t = [...types.values()].find((x) => x.kind === kind && x.name === name);
    assert.ok(t, `bpftool shows ${kind.toLowerCase()} ${name}`);
    return t;
  };
  const attr = named("UNION", "bpf_attr").members.map((m) => ({
    member: m.name,
    fields: flatten(resolve(m.type), 0, "", new Map()),
  }));
  const structs = new Map(names.map((n) => [n, flatten(named("STRUCT", n), 0, "", new Map())]));
  return { attr, structs };
}

const bpftoolAttr = (): Flat => bpftoolLayouts([]).attr;

/**
 * The bpf_attr member each layout writes, as bpf.h declares it: a named member, or
 * `=field` for the anonymous struct whose first field that is.
 */
const MEMBER: Record<string, string> = {
  MAP_CREATE: "=map_type",
  MAP_ELEM: "=map_fd",
  MAP_NEXT_KEY: "=map_fd",
  MAP_FD_ONLY: "=map_fd",
  MAP_BATCH: "batch",
  PROG_LOAD: "=prog_type",
  OBJ: "=pathname",
  GET_ID: "=start_id",
  OBJ_INFO: "info",
  RAW_TRACEPOINT: "raw_tracepoint",
  BTF_LOAD: "=btf",
  LINK_CREATE: "link_create",
  LINK_CREATE_KPROBE_MULTI: "link_create",
  PROG_ATTACH: "=target_fd",
  PROG_QUERY: "query",
  ITER_CREATE: "iter_create",
  PROG_TEST_RUN: "test",
  LINK_DETACH: "link_detach",
};

function memberOf(attr: ReturnType<typeof bpftoolAttr>, layout: string) {
  const want = MEMBER[layout];
  assert.ok(want, `${layout}: say which bpf_attr member it writes in MEMBER`);
  return want.startsWith("=")
    ? attr.find((a) => a.member === "" && a.fields.keys().next().value === want.slice(1))
    : attr.find((a) => a.member === want);
}

const btfPresent = existsSync(VMLINUX) || (inCI ? assert.unreachable(`${VMLINUX} missing under CI`) : false);

test("every bpf_attr field the code writes is where bpftool's decoding of the kernel's BTF puts it", () => {
  if (!btfPresent || !haveTool("bpftool")) return;
  const attr = bpftoolAttr();
  assert.equal(LAYOUTS.map(([n]) => n).sort(), Object.keys(MEMBER).sort());
  assert.ok(LAYOUTS.length >= 15, `${LAYOUTS.length} layouts`);
  let n = 0;
  for (const [name, layout] of LAYOUTS) {
    const m = memberOf(attr, name);
    assert.ok(m, `${name}: bpftool shows no bpf_attr member ${MEMBER[name]}`);
    for (const [field, off] of layout) {
      assert.is(off, m.fields.get(field), `${name}.${field}`);
      n++;
    }
  }
  assert.ok(n > 100, `${n} fields checked`);
});

test("every field of the generated bpf_attr, bpf_*_info and perf_event_attr tables is where bpftool puts it", () => {
  if (!btfPresent || !haveTool("bpftool")) return;
  const generated = {
    bpf_prog_info: G.bpf_prog_info,
    bpf_map_info: G.bpf_map_info,
    bpf_btf_info: G.bpf_btf_info,
    bpf_link_info: G.bpf_link_info,
    perf_event_attr: G.perf_event_attr,
    perf_event_mmap_page: G.perf_event_mmap_page,
  };
  const infos = Object.keys(generated) as (keyof typeof generated)[];
  const { attr, structs } = bpftoolLayouts(infos);
  const offsets = (t: object) => new Map(Object.entries(t).map(([k, f]) => [k, (f as number[])[0]]));
  let n = 0;
  for (const [group, fields] of Object.entries(G.bpf_attr)) {
    const mine = offsets(fields);
    const first = mine.keys().next().value;
    // Anonymous members are named after their command (BPF_PROG_LOAD): find them by first field.
    const theirs = group.startsWith("BPF_")
      ? attr.find((a) => a.member === "" && a.fields.keys().next().value === first)
      : attr.find((a) => a.member === group);
    assert.ok(theirs, `bpftool shows no bpf_attr member for ${group}`);
    assert.equal(mine, theirs.fields, `bpf_attr ${group}`);
    n += mine.size;
  }
  assert.is(Object.keys(G.bpf_attr).length, attr.length, "one generated group per bpf_attr member");
  for (const s of infos) {
    assert.equal(offsets(generated[s]), structs.get(s), s);
    n += structs.get(s)?.size ?? 0;
  }
  assert.ok(n > 300, `${n} fields checked`);
});

/** Compiles and runs `lines` (statements in main) with clang; lines the header lacks names for are dropped. */
function runC(lines: string[]): { out: Map<string, bigint>; dropped: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-uapi-oracle-"));
  const dropped: string[] = [];
  try {
    let body = [...lines];
    for (let round = 0; round < 4; round++) {
      const pre = [
        "#include <stddef.h>",
        "#include <stdio.h>",
        "#include <linux/bpf.h>",
        "#include <linux/if_link.h>",
        "#include <linux/perf_event.h>",
        "int main(void) {",
      ];
      const src = [...pre, ...body, "return 0; }"].join("\n");
      writeFileSync(join(dir, "o.c"), src);
      const cc = spawnSync("clang-19", ["-w", "-ferror-limit=0", "-o", join(dir, "o"), join(dir, "o.c")], {
        encoding: "utf8",
      });
      if (cc.status === 0) {
        const run = spawnSync(join(dir, "o"), { encoding: "utf8" });
        assert.is(run.status, 0, run.stderr);
        const out = new Map<string, bigint>();
        for (const l of run.stdout.trim().split("\n")) {
          const [k, v] = l.split(" ");
          out.set(k, BigInt(v));
        }
        return { out, dropped };
      }
      // Drop each statement an error points at (a member or a name this header lacks).
      const bad = new Set<number>();
      for (const m of cc.stderr.matchAll(/o\.c:(\d+):\d+: error: (.*)/g)) {
        if (!/no member named|undeclared identifier|has no member/.test(m[2]))
          throw new Error(`clang: ${m[0]}`);
        bad.add(Number(m[1]) - pre.length - 1);
      }
      assert.ok(bad.size > 0, cc.stderr.slice(0, 2000));
      dropped.push(...body.filter((_, i) => bad.has(i)));
      body = body.filter((_, i) => !bad.has(i));
    }
    throw new Error("clang kept failing");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const say = (key: string, expr: string) => `printf("%s %lld\\n", "${key}", (long long)(${expr}));`;

test("clang and linux/bpf.h agree: offsetof/sizeof of the fields written, #define and enum values", () => {
  if (!existsSync(HEADER) || !haveTool("clang-19") || !btfPresent || !haveTool("bpftool")) return;
  const attr = bpftoolAttr();
  const lines: string[] = [];
  const want = new Map<string, bigint>();
  for (const [name, layout] of LAYOUTS) {
    const m = memberOf(attr, name);
    for (const [field, off, kind] of layout) {
      const path = m?.member ? `${m.member}.${field}` : field;
      const key = `${name}.${field}`;
      lines.push(say(`off:${key}`, `offsetof(union bpf_attr, ${path})`));
      lines.push(say(`size:${key}`, `sizeof(((union bpf_attr *)0)->${path})`));
      want.set(`off:${key}`, BigInt(off));
      want.set(`size:${key}`, BigInt(SIZE[kind]));
    }
  }
  // Values: every numeric export of uapi.ts (hand-written #defines and generated enums).
  for (const [k, v] of Object.entries(U)) {
    if (typeof v !== "number" || !/^(BPF|XDP|BTF|PERF)_/.test(k)) continue;
    lines.push(say(`val:${k}`, k));
    want.set(`val:${k}`, BigInt(v));
  }
  const { out, dropped } = runC(lines);
  let offsets = 0;
  let values = 0;
  for (const [k, v] of out) {
    assert.is(v, want.get(k), k);
    if (k.startsWith("off:")) offsets++;
    if (k.startsWith("val:")) values++;
  }
  // Hand-written values the header cannot check: tsbpf's own names for bpf.h's macro
  // arguments, and #defines newer than Debian's 6.1 header (6.6: mprog ordering, sign
  // extension; 6.9: may_goto; 6.15: load-acquire/store-release).
  const unchecked = dropped
    .map((l) => /"val:(\w+)"/.exec(l)?.[1])
    .filter((k): k is string => k !== undefined && !(k in G));
  assert.equal(unchecked.sort(), [
    "BPF_CLASS_MASK",
    "BPF_F_AFTER",
    "BPF_F_BEFORE",
    "BPF_F_ID",
    "BPF_INSN_SIZE",
    "BPF_JCOND",
    "BPF_LD_IMM64",
    "BPF_LOAD_ACQ",
    "BPF_MAY_GOTO",
    "BPF_MEMSX",
    "BPF_MODE_MASK",
    "BPF_OP_MASK",
    "BPF_SIZE_MASK",
    "BPF_SRC_MASK",
    "BPF_STORE_REL",
  ]);
  assert.ok(offsets > 100, `${offsets} offsets checked by clang`);
  assert.ok(values > 300, `${values} values checked by clang`);
});

test.run();
