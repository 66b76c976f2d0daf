// The static linker (no kernel): libbpf's depth-first append order, call/func imm
// fix-ups, func_info/line_info/relocations moved into the linked program's
// coordinates, and the BTF fix-ups done before BPF_BTF_LOAD.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { getImm, getSrc } from "../../src/asm/insn.ts";
import { Btf } from "../../src/btf/btf.ts";
import { readCollectionSpec } from "../../src/elf/collection.ts";
import { prepareBtf } from "../../src/loader/btf.ts";
import { linkProgram } from "../../src/loader/link.ts";
import type { CollectionSpec } from "../../src/spec.ts";
import { FeatureProbes } from "../../src/sys/features.ts";
import { BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC } from "../../src/uapi.ts";
import { ROOT_DIR } from "../helpers/env.ts";

const spec = (n: string): CollectionSpec => {
  const p = join(ROOT_DIR, "test/fixtures", n);
  return readCollectionSpec(readFileSync(p), p);
};

const order = (s: CollectionSpec, prog: string) => {
  const p = s.programs.find((x) => x.name === prog);
  if (!p) throw new Error(`no program ${prog}`);
  return linkProgram(s, p);
};

test("subprograms are appended depth-first in call order, each once", () => {
  const s = spec("calls.bpf.o");
  assert.equal(
    order(s, "calc_chain").functions.map((f) => f.name),
    ["calc_chain", "outer", "middle", "inner"],
  );
  assert.equal(
    order(s, "calc_global").functions.map((f) => f.name),
    ["calc_global", "mix", "square"],
  );
  // The callback (BPF_PSEUDO_FUNC) is appended, then what it calls.
  assert.equal(
    order(s, "calc_loop").functions.map((f) => f.name),
    ["calc_loop", "sum_cb", "square"],
  );
  assert.equal(
    order(s, "on_sys_enter").functions.map((f) => f.name),
    ["on_sys_enter", "square"],
  );
});

test("every call and function reference points at its callee's start", () => {
  const s = spec("calls.bpf.o");
  for (const p of s.programs) {
    const lp = linkProgram(s, p);
    for (const f of lp.functions) {
      const fn = s.functions.get(f.key);
      for (const r of fn?.relocations ?? []) {
        if (r.kind !== "call" && r.kind !== "func") continue;
        const at = f.start + r.insn;
        const callee = lp.functions.find((x) => x.key === r.target);
        assert.ok(callee, `${p.name}: ${r.target} linked`);
        assert.is(at + getImm(lp.insns, at) + 1, callee?.start, `${p.name} insn ${at}`);
        assert.is(getSrc(lp.insns, at), r.kind === "call" ? BPF_PSEUDO_CALL : BPF_PSEUDO_FUNC);
      }
    }
    // The spec's own bytes are untouched (linking works on a copy).
    assert.is.not(lp.insns.buffer, p.insns.buffer);
  }
});

test("func_info, line_info and data relocations move with their function", () => {
  const s = spec("calls.bpf.o");
  const lp = order(s, "calc_loop");
  assert.equal(
    lp.funcInfo.map((f) => f.insn),
    lp.functions.map((f) => f.start),
  );
  const sq = lp.functions.find((f) => f.name === "square");
  const sqSpec = s.functions.get(sq?.key ?? "");
  assert.ok(sq && sqSpec);
  const moved = lp.lineInfo.filter((l) => l.insn >= (sq?.start ?? 0));
  assert.equal(
    moved.map((l) => l.insn - (sq?.start ?? 0)),
    sqSpec?.lineInfo.map((l) => l.insn),
  );
  for (let i = 1; i < lp.lineInfo.length; i++) {
    assert.ok((lp.lineInfo[i]?.insn ?? 0) >= (lp.lineInfo[i - 1]?.insn ?? 0), "line_info sorted");
  }
  assert.ok(lp.relocations.every((r) => r.kind === "map" || r.kind === "data" || r.kind === "extern"));
  assert.ok(lp.relocations.some((r) => r.kind === "map" && r.map === "results"));
});

test("prepareBtf: DATASEC sizes and VAR offsets filled, .ksyms made loadable, extern linkage removed", () => {
  const g = spec("globals.bpf.o");
  const fixed = Btf.parse(prepareBtf(g, g.btf as Btf, new FeatureProbes()).bytes);
  for (const id of fixed.findByNameKind(".bss", "datasec")) {
    const t = fixed.type(id);
    assert.ok(t.kind === "datasec" && t.size > 0);
    if (t.kind === "datasec") {
      const offs = t.vars.map((v) => v.offset);
      assert.equal(
        offs,
        [...offs].sort((a, b) => a - b),
      );
      assert.is(new Set(offs).size, offs.length, "distinct offsets");
    }
  }
  const c = spec("core.bpf.o");
  const cf = Btf.parse(prepareBtf(c, c.btf as Btf, new FeatureProbes()).bytes);
  for (let id = 1; id < cf.length; id++) {
    const t = cf.type(id);
    if (t.kind === "var" || t.kind === "func") assert.ok(t.linkage !== 2, `${t.name}: no extern linkage`);
    if (t.kind === "datasec" && t.name === ".ksyms") {
      assert.ok(t.vars.every((v) => cf.kind(v.type) === "var" && v.size === 4));
    }
    if (t.kind === "datasec" && t.name === ".kconfig") {
      const kc = c.maps.find((m) => m.globalData?.section === ".kconfig");
      assert.is(t.size, kc?.valueSize);
    }
  }
  // Type ids are kept: line_info/func_info and map BTF ids stay valid.
  assert.ok(cf.length >= (c.btf as Btf).length);
});

test.run();
