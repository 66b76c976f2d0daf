// `tsbpf inspect FILE --type NAME` (issue 17 item 10): a struct or union laid out as
// pahole does. The oracle is pahole itself (Debian's dwarves) reading the same BTF:
// every member line's offset, bit position and size, the nested anonymous members,
// and the size/holes/padding summary must agree.
import { spawnSync } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { assertOneLineError, runCli } from "../helpers/cli.ts";
import { haveTool } from "../helpers/env.ts";

/** "/*  1188: 0  4 *\/" and "/*     0    24 *\/" member comments: [offset, bit or -1, size]. */
function memberTuples(text: string): string[] {
  const out: string[] = [];
  for (const l of text.split("\n")) {
    const m = /;\s*\/\*\s+(\d+)(?::\s*(\d+))?\s+(\d+) \*\/$/.exec(l);
    if (m) out.push(`${m[1]}:${m[2] ?? "-"}:${m[3]}`);
  }
  return out;
}

/** The names of the members, in order (declarator names; "}" for the end of a nested one). */
function memberNames(text: string): string[] {
  const out: string[] = [];
  for (const l of text.split("\n")) {
    if (!/\/\*\s+\d+/.test(l) || l.includes("---")) continue;
    // pahole adds the alignment it inferred (__attribute__((__aligned__(64)))): not a name.
    const decl = l
      .slice(0, l.indexOf("/*"))
      .replace(/\s*__attribute__\(\(.*\)\)/, "")
      .trim();
    if (decl.startsWith("}")) {
      out.push("}");
      continue;
    }
    const fn = /\(\*\s*(\w+)\)\s*\(/.exec(decl);
    const m = fn ?? /(\w+)\s*(?:\[\d*\])*(?::\d+)?;$/.exec(decl);
    out.push(m ? (m[1] as string) : decl);
  }
  return out;
}

const summary = (text: string) =>
  text
    .split("\n")
    .filter((l) => /^\t\/\* (size|sum members|sum bitfield|padding):/.test(l))
    .map((l) => l.trim());

function pahole(file: string, name: string, elf = false): string {
  const r = spawnSync("pahole", [...(elf ? ["-F", "btf"] : []), "-C", name, file], { encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  return r.stdout;
}

for (const name of ["task_struct", "sk_buff", "file", "inode", "mm_struct", "bpf_attr"]) {
  test(`inspect vmlinux --type ${name} agrees with pahole member by member`, () => {
    if (!haveTool("pahole")) return;
    const r = runCli(["inspect", "vmlinux", "--type", name]);
    assert.is(r.status, 0, r.stderr);
    const ours = r.stdout;
    const theirs = pahole("/sys/kernel/btf/vmlinux", name);
    assert.ok(memberTuples(theirs).length > 0);
    assert.equal(memberTuples(ours), memberTuples(theirs));
    assert.equal(memberNames(ours), memberNames(theirs));
    // pahole's "paddings"/"forced alignments" lines describe nested types: not compared.
    // It prints no summary for a union; ours still gives the size.
    if (summary(theirs).length) assert.equal(summary(ours), summary(theirs));
    else assert.match(ours, /\t\/\* size: \d+, cachelines: \d+, members: \d+ \*\/\n(\t.*\n)*\};\n$/);
  });
}

test("task_struct: holes and bitfields as pahole counts them", () => {
  const r = runCli(["inspect", "/sys/kernel/btf/vmlinux", "--type", "struct task_struct"]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /^struct task_struct \{\n/);
  assert.match(r.stdout, /\n\t\/\* XXX 4 bytes hole, try to pack \*\/\n/);
  assert.match(r.stdout, /\tunsigned int sched_reset_on_fork:1; +\/\* +\d+: 0 {2}4 \*\/\n/);
  assert.match(r.stdout, /\t\/\* size: \d+, cachelines: \d+, members: \d+ \*\/\n/);
  const j = JSON.parse(runCli(["inspect", "vmlinux", "--type", "task_struct", "--json"]).stdout);
  const pid = j.type.members.find((m: { name: string }) => m.name === "pid");
  assert.is(pid.size, 4);
  assert.ok(pid.offset > 0);
  const bf = j.type.members.find((m: { name: string }) => m.name === "sched_reset_on_fork");
  assert.equal(bf.bitfield, { bits: 1, bitOffset: 0 });
});

test("--type on a BPF object's own BTF agrees with pahole -F btf", () => {
  if (!haveTool("pahole")) return;
  const r = runCli(["inspect", "bpf/process.bpf.o", "--type", "tsbpf_exec_event"]);
  assert.is(r.status, 0, r.stderr);
  const theirs = pahole("bpf/process.bpf.o", "tsbpf_exec_event", true);
  assert.equal(memberTuples(r.stdout), memberTuples(theirs));
  assert.equal(summary(r.stdout), summary(theirs));
});

test("--type: an unknown name gets a guess; a non-struct says what it is", () => {
  assertOneLineError(
    runCli(["inspect", "vmlinux", "--type", "task_strct"]),
    2,
    /--type task_strct: no struct or union of that name in vmlinux \(did you mean task_struct\?\)/,
    "typo",
  );
  assertOneLineError(
    runCli(["inspect", "vmlinux", "--type", "pid_type"]),
    2,
    /--type pid_type: in vmlinux that is an enum, not a struct or union/,
    "enum",
  );
});

test.run();
