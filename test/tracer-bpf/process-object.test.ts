// Checks the committed tracer object bpf/process.bpf.o against its documented
// contract (docs/events-wire.md) with external oracles: bpftool reads its BTF,
// llvm-readelf its .rodata defaults, and `bpftool prog loadall` makes libbpf +
// the kernel verifier load every program, both as committed and built with
// every .rodata option at its widest setting (-DTSBPF_WIDE_DEFAULTS=1).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { haveTool, privileged, ROOT_DIR } from "../helpers/env.ts";

const OBJ = join(ROOT_DIR, "bpf/process.bpf.o");
const PROGRAMS = [
  "handle_enter_execve",
  "handle_enter_execveat",
  "handle_exec",
  "handle_exit",
  "handle_exit_execve",
  "handle_exit_execveat",
  "handle_fork",
];

interface BtfMember {
  name: string;
  bits_offset: number;
}
interface BtfType {
  id: number;
  kind: string;
  name: string;
  size?: number;
  members?: BtfMember[];
  values?: { name: string; val: number }[];
  vars?: { type_id: number; offset: number; size: number }[];
}

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20, timeout: 120_000 });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}):\n${r.stderr.slice(-4000)}`);
  }
  return r.stdout;
}

function btfTypes(obj: string): BtfType[] {
  return (JSON.parse(run("bpftool", ["-j", "btf", "dump", "file", obj])) as { types: BtfType[] }).types;
}

function byName(types: BtfType[], kind: string, name: string): BtfType {
  const t = types.find((x) => x.kind === kind && x.name === name);
  if (!t) throw new Error(`no ${kind} ${name} in BTF`);
  return t;
}

function offsets(t: BtfType): Record<string, number> {
  return Object.fromEntries((t.members ?? []).map((m) => [m.name, m.bits_offset / 8]));
}

test("record structs are in the object's BTF with the documented layout", () => {
  if (!haveTool("bpftool")) return;
  const types = btfTypes(OBJ);
  const hdr = byName(types, "STRUCT", "tsbpf_event_hdr");
  assert.is(hdr.size, 96);
  assert.equal(offsets(hdr), {
    ts_boot_ns: 0,
    cgroup_id: 8,
    exec_id: 16,
    parent_exec_id: 24,
    type: 32,
    size: 36,
    pid: 40,
    tid: 44,
    ppid: 48,
    uid: 52,
    gid: 56,
    euid: 60,
    pidns_ino: 64,
    ns_pid: 68,
    ns_tid: 72,
    cpu: 76,
    comm: 80,
  });
  const fork = byName(types, "STRUCT", "tsbpf_fork_event");
  assert.is(fork.size, 104);
  assert.equal(offsets(fork), { hdr: 0, parent_pid: 96, parent_tid: 100 });
  const exec = byName(types, "STRUCT", "tsbpf_exec_event");
  assert.is(exec.size, 168);
  assert.is(offsets(exec).tail, 168, "exec tail starts right after the fixed part");
  assert.is(offsets(exec).flags, 132);
  const o = offsets(exec);
  assert.equal(
    [o.exe_len, o.exe_mode, o.exe_uid, o.exe_nlink, o.dir_mode, o.dir_uid, o.exe_fs_magic, o._reserved],
    [136, 140, 144, 148, 152, 156, 160, 164],
  );
  const flags = byName(types, "ENUM", "tsbpf_exec_flags");
  const fv = Object.fromEntries((flags.values ?? []).map((v) => [v.name, v.val]));
  assert.equal(
    [
      fv.TSBPF_EXEC_EXE_TRUNCATED,
      fv.TSBPF_EXEC_EXE_UNLINKED,
      fv.TSBPF_EXEC_EXE_ANON,
      fv.TSBPF_EXEC_EXE_ANCESTOR_WW,
      fv.TSBPF_EXEC_SUSPICIOUS,
    ],
    [128, 256, 512, 1024, 2048],
  );
  const failed = byName(types, "STRUCT", "tsbpf_exec_failed_event");
  assert.is(failed.size, 120);
  assert.is(offsets(failed).tail, 120);
  const exit = byName(types, "STRUCT", "tsbpf_exit_event");
  assert.is(exit.size, 120);
  assert.equal(offsets(exit), {
    hdr: 0,
    lifetime_ns: 96,
    status: 104,
    flags: 108,
    exit_signal: 112,
    _reserved: 116,
  });
  const evType = byName(types, "ENUM", "tsbpf_event_type");
  assert.equal(Object.fromEntries((evType.values ?? []).map((v) => [v.name, v.val])), {
    TSBPF_EV_FORK: 1,
    TSBPF_EV_THREAD: 2,
    TSBPF_EV_EXEC: 3,
    TSBPF_EV_EXEC_FAILED: 4,
    TSBPF_EV_EXIT: 5,
    TSBPF_EV_THREAD_EXIT: 6,
    TSBPF_EV_MAX: 7,
  });
  for (const e of ["tsbpf_exec_flags", "tsbpf_exit_flags", "tsbpf_exec_syscall"]) {
    byName(types, "ENUM", e);
  }
});

/**
 * .rodata variable -> little-endian value, from the ELF symbol table (offsets:
 * in an unloaded object the BTF DATASEC offsets are still 0, libbpf fills them
 * in from the symbols) and llvm-readelf's hex dump (bytes).
 */
function rodataDefaults(obj: string): Map<string, bigint> {
  const sections = run("llvm-readelf-19", ["-SW", obj]);
  const secIndex = /\[\s*(\d+)\] \.rodata\s/.exec(sections)?.[1];
  if (!secIndex) throw new Error(`${obj} has no .rodata section`);
  const dump = run("llvm-readelf-19", ["--hex-dump=.rodata", obj]);
  const bytes: number[] = [];
  for (const line of dump.split("\n")) {
    const m = /^0x[0-9a-f]+ ((?:[0-9a-f]{2,8} ){1,4})/.exec(line);
    if (!m?.[1]) continue;
    for (const word of m[1].trim().split(" ")) {
      for (let i = 0; i < word.length; i += 2) bytes.push(Number.parseInt(word.slice(i, i + 2), 16));
    }
  }
  const out = new Map<string, bigint>();
  for (const line of run("llvm-readelf-19", ["-sW", obj]).split("\n")) {
    // "  22: 000000000000000c     4 OBJECT  GLOBAL DEFAULT    18 targ_uid"
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || f[3] !== "OBJECT" || f[6] !== secIndex) continue;
    const offset = Number.parseInt(f[1] ?? "", 16);
    const size = Number(f[2]);
    if (size > 8) continue;
    let x = 0n;
    for (let i = size - 1; i >= 0; i--) x = (x << 8n) | BigInt(bytes[offset + i] ?? 0);
    out.set(f[7] ?? "", x);
  }
  return out;
}

test(".rodata options exist with their documented defaults", () => {
  if (!haveTool("bpftool") || !haveTool("llvm-readelf-19")) return;
  const d = rodataDefaults(OBJ);
  assert.equal(Object.fromEntries(d), {
    trace_threads: 0n,
    capture_env: 0n,
    trace_failed_exec: 0n,
    max_args_bytes: 4096n,
    max_env_bytes: 4096n,
    targ_uid: 0xffffffffn,
    targ_cgroup_id: 0n,
    targ_pidns: 0n,
    filter_descendants: 0n,
    rate_limit_per_sec: 0n,
    rate_burst: 0n,
    rate_limit_by_parent: 0n,
    tsbpf_anchor_exec_flags: 0n,
    tsbpf_anchor_exit_flags: 0n,
    tsbpf_anchor_exec_syscall: 0n,
  });
});

function ensureBpffs(): void {
  const r = spawnSync("mountpoint", ["-q", "/sys/fs/bpf"]);
  if (r.status !== 0) run("mount", ["-t", "bpf", "bpf", "/sys/fs/bpf"]);
}

/** libbpf (through bpftool) loads every program; the kernel verifier accepts them. */
function loadAll(obj: string): string[] {
  ensureBpffs();
  const pin = `/sys/fs/bpf/tsbpf_proc_test_${process.pid}`;
  rmSync(pin, { recursive: true, force: true });
  try {
    run("bpftool", ["prog", "loadall", obj, pin]);
    return run("ls", [pin]).trim().split("\n").sort();
  } finally {
    rmSync(pin, { recursive: true, force: true });
  }
}

test("the committed object loads and verifies on this kernel", () => {
  if (!privileged("bpftool prog loadall") || !haveTool("bpftool")) return;
  assert.equal(loadAll(OBJ), PROGRAMS);
});

test("every option at its widest setting still verifies (32 KiB argv + env, all filters)", () => {
  if (!privileged("bpftool prog loadall") || !haveTool("bpftool") || !haveTool("clang-19")) return;
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-proc-"));
  try {
    const wide = join(dir, "wide.bpf.o");
    const src = join(ROOT_DIR, "bpf/process.bpf.c");
    run("clang-19", [
      ...["-target", "bpf", "-O2", "-g", "-mcpu=v3", "-D__TARGET_ARCH_x86"],
      ...["-I", join(ROOT_DIR, "bpf/include"), "-DTSBPF_WIDE_DEFAULTS=1"],
      ...["-c", src, "-o", wide],
    ]);
    const d = rodataDefaults(wide);
    assert.is(d.get("max_args_bytes"), 32768n);
    assert.is(d.get("capture_env"), 1n);
    assert.is(d.get("rate_limit_per_sec"), 1000n);
    assert.equal(loadAll(wide), PROGRAMS);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
