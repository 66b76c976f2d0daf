// CO-RE checked inside the running kernel: core_layout.bpf.o uses local types that
// differ from the kernel (reordered, missing and renamed members, flavors,
// bitfields, enums with other values, types no kernel has). Its program compares
// each relocated value with the truth and returns a failure bitmask. The truth the
// BPF side cannot find itself comes from bpftool's BTF dump and /proc, via .rodata.
import { readFileSync } from "node:fs";
import { release } from "node:os";
import { gunzipSync } from "node:zlib";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadCollection } from "../../src/loader/collection.ts";
import { haveTool, privileged, ROOT_DIR } from "../helpers/env.ts";
import { kernelTruth, selfArgStart } from "./kernel-truth.ts";

const CHECKS = [
  "pid",
  "tgid",
  "real_parent->tgid",
  "mm->arg_start",
  "comm",
  "comm[3]",
  "field sizes/signedness",
  "in_execve bitfield",
  "restore_sigmask bitfield",
  "sched_reset_on_fork bitfield",
  "field_exists",
  "renamed member via flavors",
  "type_exists (ghost)",
  "type_size",
  "type_id_kernel",
  "type_matches",
  "enum values",
  "enum value exists",
];

test("core_layout.bpf.o: every relocated value is right inside the kernel", async () => {
  if (!privileged("CO-RE in-kernel checks") || !haveTool("bpftool")) return;
  const truth = kernelTruth(["task_struct"], ["pid_type"]);
  const task = truth.structs.get("task_struct");
  const pidType = truth.enums.get("pid_type");
  assert.ok(task && pidType, "bpftool dump has task_struct and enum pid_type");
  const bit = (name: string) => {
    const m = task.members.get(name);
    assert.ok(m && m.bitfieldSize === 1, `task_struct::${name} is a 1-bit bitfield`);
    return m.bitsOffset;
  };
  const coll = await loadCollection(`${ROOT_DIR}/test/fixtures/core_layout.bpf.o`, {
    rodata: {
      want_ppid: process.ppid,
      want_arg_start: selfArgStart(),
      want_task_size: task.size,
      want_task_id: task.id,
      want_sid: pidType.get("PIDTYPE_SID") as number,
      want_pid_val: pidType.get("PIDTYPE_PID") as number,
      bit_in_execve: bit("in_execve"),
      bit_restore_sigmask: bit("restore_sigmask"),
      bit_sched_reset_on_fork: bit("sched_reset_on_fork"),
    },
  });
  try {
    const prog = coll.programs.check;
    assert.ok(prog);
    // raw_tp test runs take a ctx only (args[0] = regs, args[1] = syscall id).
    const { retval } = prog.testRun({ ctx: new Uint8Array(16) });
    const out = coll.globals.bss?.lout as Record<string, unknown>;
    const failed = CHECKS.filter((_, i) => (retval >>> i) & 1);
    assert.equal(
      failed,
      [],
      `failed checks: ${failed.join(", ")}; lout = ${String(JSON.stringify(out, (_, v) => (typeof v === "bigint" ? v.toString() : v)))}`,
    );
    assert.is(retval, 0);
    // Values seen from user space as well.
    assert.is(out.pid, process.pid);
    assert.is(out.tgid, process.pid);
    assert.is(out.task_size, task.size);
    assert.is(out.task_id, task.id);
    assert.is(out.sid, pidType.get("PIDTYPE_SID"));
    assert.is(out.upid_matches, 1);
    assert.is(out.upid_bad_matches, 0);
    // TYPE_ID_LOCAL: the id of task_struct___tsl in the object's own BTF.
    const btf = coll.spec.btf;
    assert.ok(btf);
    assert.is(out.local_id, btf.findByName("task_struct___tsl")[0]);
  } finally {
    coll.close();
  }
});

test("core.bpf.o: externs and CO-RE values seen by the kernel", async () => {
  if (!privileged("CO-RE externs in-kernel")) return;
  const coll = await loadCollection(`${ROOT_DIR}/test/fixtures/core.bpf.o`);
  try {
    const prog = coll.programs.probe;
    assert.ok(prog);
    // args[1] = probe_id (110): the program acts only for that syscall id.
    const ctx = new Uint8Array(16);
    new DataView(ctx.buffer).setBigUint64(8, 110n, true);
    prog.testRun({ ctx });
    const out = coll.globals.bss?.out as Record<string, number | bigint>;
    assert.is(out.runs, 1);
    assert.is(out.tgid, process.pid);
    assert.is(out.ppid, process.ppid);
    assert.is(out.has_old_state, 0);
    assert.is(out.task_exists, 1);
    assert.is(out.bogus_exists, 0);
    assert.is(out.upid_matches, 1);
    assert.is(out.tgid_exists, 1);
    assert.is(out.sid_value, 3);
    const m = /^(\d+)\.(\d+)\.(\d+)/.exec(release()) as RegExpExecArray;
    assert.is(out.kernel_version, (Number(m[1]) << 16) + (Number(m[2]) << 8) + Math.min(Number(m[3]), 255));
    const config = gunzipSync(readFileSync("/proc/config.gz")).toString();
    const cfg = (name: string) => new RegExp(`^${name}=(.*)$`, "m").exec(config)?.[1];
    assert.is(out.hz, Number(cfg("CONFIG_HZ") ?? 0));
    assert.is(out.bpf_syscall, cfg("CONFIG_BPF_SYSCALL") === "y" ? 1 : 0);
    const lsm = cfg("CONFIG_BPF_LSM");
    assert.is(out.bpf_lsm, lsm === "y" ? 1 : lsm === "m" ? 2 : 0);
    assert.is(out.missing_cfg, 0);
    const stext = /^([0-9a-f]+) \S+ _stext$/m.exec(readFileSync("/proc/kallsyms", "utf8"));
    assert.ok(stext);
    assert.is(out.stext_addr, BigInt(`0x${stext[1]}`));
  } finally {
    coll.close();
  }
});

test.run();
