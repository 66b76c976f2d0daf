// `tsbpf explain`: the structured report (--json) of a real load, the static
// --no-load report, a failing object, and --btf with an ELF target.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readCollectionSpec } from "../../src/elf/collection.ts";
import { haveTool, privileged, ROOT_DIR } from "../helpers/env.ts";

function explain(args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli.ts", "explain", ...args], {
    cwd: ROOT_DIR,
    encoding: "utf8",
    timeout: 120_000,
  });
  return r;
}

function coreCount(obj: string): number {
  const spec = readCollectionSpec(readFileSync(`${ROOT_DIR}/${obj}`), obj);
  let n = 0;
  for (const p of spec.programs) {
    // Programs carry their subprograms' records after linking; count per program.
    n += p.coreRelos.length;
  }
  return n;
}

test("--json of a real load: every section of the report is filled", () => {
  if (!privileged("explain load")) return;
  const r = explain(["test/fixtures/core.bpf.o", "--json"]);
  assert.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  for (const k of [
    "sections",
    "maps",
    "relocations",
    "core_relocations",
    "externs",
    "bpf_calls",
    "programs",
  ]) {
    assert.ok(Array.isArray(j[k]) && j[k].length > 0, `${k} is a non-empty array`);
  }
  assert.ok(
    j.sections.some((s: { name: string; type: string }) => s.name === ".BTF" && s.type === "PROGBITS"),
  );
  assert.is(j.core_relocations.length, coreCount("test/fixtures/core.bpf.o"));
  const tgid = j.core_relocations.find(
    (c: { access: { text: string } }) => c.access.text === "task_struct->tgid",
  );
  assert.ok(tgid);
  assert.is(tgid.kind, "byte_off");
  assert.equal(
    tgid.candidates.map((c: { name: string }) => c.name),
    ["task_struct"],
  );
  assert.is(tgid.chosen.name, "task_struct");
  assert.is.not(tgid.insn_before, tgid.insn_after);
  assert.ok(
    j.core_relocations.some((c: { poisoned: boolean }) => c.poisoned),
    "the ___old flavor read is poisoned",
  );
  const cmds = new Set(j.bpf_calls.map((c: { cmd: string }) => c.cmd));
  for (const c of ["BPF_BTF_LOAD", "BPF_MAP_CREATE", "BPF_PROG_LOAD"]) assert.ok(cmds.has(c), c);
  const mapCreate = j.bpf_calls.find((c: { cmd: string }) => c.cmd === "BPF_MAP_CREATE");
  assert.match(String(mapCreate.attr.map_type), /array/);
  for (const p of j.programs) {
    assert.is(p.verdict, "accepted", p.name);
    assert.ok(p.stats.insns_processed > 0);
  }
  assert.ok(j.externs.some((e: { name: string }) => e.name === "LINUX_KERNEL_VERSION"));
  assert.ok(j.relocations.some((x: { kind: string; before: string }) => x.kind === "extern" && x.before));
});

test("--no-load: static report, no bpf() calls, every CO-RE record resolved", () => {
  const r = explain(["test/fixtures/core_layout.bpf.o", "--json", "--no-load"]);
  assert.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.bpf_calls, []);
  assert.is(j.loaded, false);
  assert.is(j.core_relocations.length, coreCount("test/fixtures/core_layout.bpf.o"));
  assert.ok(j.programs.every((p: { verdict: string }) => p.verdict === "static"));
  const sid = j.core_relocations.find((c: { access: { text: string } }) =>
    c.access.text.endsWith("PIDTYPE_SID___tsl"),
  );
  assert.ok(sid);
  assert.is(sid.value.local, 100);
});

test("text output of a failing object names the relocation and exits 1", () => {
  if (!privileged("explain failing load")) return;
  const r = explain(["test/fixtures/core_fail.bpf.o"]);
  assert.is(r.status, 1, r.stderr);
  assert.match(
    r.stdout,
    "CO-RE relocation #1 in program read_missing failed: task_struct::tsbpf_no_such_field",
  );
  assert.match(r.stdout, "REJECTED by the verifier");
  assert.match(r.stdout, "candidates  [");
});

test("--btf with an ELF object: its .BTF is the target (values equal the local ones)", () => {
  const r = explain(["test/fixtures/core.bpf.o", "--json", "--no-load", "--btf", "test/fixtures/core.bpf.o"]);
  assert.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.is(j.target_btf, "test/fixtures/core.bpf.o");
  const offsets = j.core_relocations.filter(
    (c: { kind: string; poisoned: boolean }) => c.kind === "byte_off" && !c.poisoned,
  );
  assert.ok(offsets.length > 3);
  for (const c of offsets) assert.is(c.value.target, c.value.local, c.access.text);
});

test("as non-root: the static part, a note that loading needs root, exit 0", () => {
  if (!privileged("explain as nobody (needs root to drop to it)") || !haveTool("setpriv")) return;
  const r = spawnSync(
    "setpriv",
    [
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      "env",
      "HOME=/tmp",
      process.execPath,
      "--import",
      "tsx",
      "src/cli.ts",
      "explain",
      "test/fixtures/core.bpf.o",
      "--json",
    ],
    { cwd: ROOT_DIR, encoding: "utf8", timeout: 120_000 },
  );
  assert.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.match(j.note, "loading needs root");
  assert.equal(j.bpf_calls, []);
  assert.is(j.externs.length, 8);
  assert.ok(j.core_relocations.length > 0);
});

test("explain OBJ with a bad --btf file is a clear error", () => {
  const r = explain(["test/fixtures/core.bpf.o", "--no-load", "--btf", "/nonexistent/btf"]);
  assert.is(r.status, 1);
  assert.match(r.stderr, "cannot read BTF file /nonexistent/btf: no such file");
  assert.not.match(r.stderr, /\n\s+at /);
});

test.run();
