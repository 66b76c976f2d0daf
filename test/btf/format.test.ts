// formatType / formatTypeDecl / formatAccess against known vmlinux types, plus
// sizeof/alignof/resolve/findByName on the same.
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Btf } from "../../src/btf/btf.ts";
import { BtfError } from "../../src/btf/errors.ts";
import { formatAccess, formatType, formatTypeDecl } from "../../src/btf/format.ts";

const v = Btf.parse(readFileSync("/sys/kernel/btf/vmlinux"), { name: "vmlinux" });
const task = v.findByNameKind("task_struct", "struct")[0];
const memberIndex = (structId: number, name: string) => {
  const t = v.type(structId);
  if (t.kind !== "struct") throw new Error("not a struct");
  return t.members.findIndex((m) => m.name === name);
};

test("formatType: pointers, arrays, const, function pointers", () => {
  const t = v.type(task);
  assert.is(t.kind, "struct");
  if (t.kind !== "struct") return;
  const m = (n: string) => t.members.find((x) => x.name === n)?.type as number;
  assert.is(formatType(v, m("real_parent")), "struct task_struct *");
  assert.is(formatType(v, m("comm")), "char[16]");
  assert.is(formatType(v, m("pid")), "pid_t");
  assert.is(formatType(v, task), "struct task_struct");
  // callback_head.func: void (*)(struct callback_head *)
  const cb = v.findByNameKind("callback_head", "struct")[0];
  const cbt = v.type(cb);
  assert.ok(cbt.kind === "struct");
  if (cbt.kind === "struct")
    assert.is(formatType(v, cbt.members[1].type), "void (*)(struct callback_head *)");
  // Some pointer to a const char exists in vmlinux ("const char *").
  const found = v.findByName("kstrdup").map((id) => formatType(v, id));
  assert.ok(
    found.some((s) => /^char \*kstrdup\(const char \*s, gfp_t gfp\)$/.test(s)),
    found.join(" | "),
  );
});

test("formatTypeDecl: struct with offsets and bitfields, enum values, typedef", () => {
  const d = formatTypeDecl(v, task);
  assert.ok(d.startsWith(`struct task_struct { /* size ${v.sizeof(task)} */\n`), d.slice(0, 80));
  assert.match(d, /\n\tstruct task_struct \*real_parent; \/\* \d+ \*\//);
  assert.match(d, /\n\tchar comm\[16\]; \/\* \d+ \*\//);
  assert.match(d, /\n\tunsigned int sched_reset_on_fork: 1; \/\* bit \d+ \*\//);
  assert.ok(d.endsWith("\n};"));
  const e = formatTypeDecl(v, v.findByNameKind("pid_type", "enum")[0]);
  assert.match(e, /^enum pid_type \{\n\tPIDTYPE_PID = 0,/);
  assert.is(formatTypeDecl(v, v.findByNameKind("pid_t", "typedef")[0]), "typedef __kernel_pid_t pid_t;");
});

test("formatAccess: CO-RE access strings on task_struct", () => {
  const rp = memberIndex(task, "real_parent");
  const comm = memberIndex(task, "comm");
  assert.ok(rp > 0 && comm > 0);
  assert.is(formatAccess(v, task, `0:${rp}`), "task_struct->real_parent");
  assert.is(formatAccess(v, task, `0:${comm}:3`), "task_struct->comm[3]");
  assert.is(formatAccess(v, task, "0"), "task_struct");
  assert.is(formatAccess(v, task, "2"), "task_struct[2]");
  // Through a typedef root and an anonymous member.
  const pidType = v.findByNameKind("pid_type", "enum")[0];
  assert.is(formatAccess(v, pidType, "0"), "pid_type::PIDTYPE_PID");
  assert.throws(
    () => formatAccess(v, task, "0:99999"),
    (e: unknown) => e instanceof BtfError && /member #99999/.test((e as Error).message),
  );
  assert.throws(
    () => formatAccess(v, task, "0:x"),
    (e: unknown) => e instanceof BtfError,
  );
});

test("sizeof, alignof, resolve, skipModifiers, findByName", () => {
  assert.is(v.sizeof(v.findByNameKind("u64", "typedef")[0]), 8);
  // BTF has no alignment attributes: natural alignment of the widest member, as libbpf.
  assert.is(v.alignof(task), 8);
  assert.is(v.alignof(v.findByNameKind("char", "int")[0]), 1);
  const t = v.type(task);
  if (t.kind === "struct") {
    const comm = t.members.find((m) => m.name === "comm");
    assert.is(v.sizeof(comm?.type as number), 16);
    const rp = t.members.find((m) => m.name === "real_parent");
    assert.is(v.sizeof(rp?.type as number), 8);
  }
  const pid = v.findByNameKind("pid_t", "typedef")[0];
  assert.is(v.kind(v.resolve(pid)), "int");
  assert.is(v.skipModifiers(pid), pid);
  assert.equal(v.findByName("no_such_type_xyz"), []);
  assert.ok(v.findByName("task_struct").includes(task));
  assert.throws(
    () => v.type(v.length),
    (e: unknown) => e instanceof BtfError,
  );
  assert.throws(
    () => v.sizeof(v.findByNameKind("schedule", "func")[0]),
    (e: unknown) => e instanceof BtfError,
  );
});

test.run();
