// `tsbpf inspect` on a fixture (text, --json, --disasm) and on the kernel's BTF.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { safe } from "../../src/elf/describe-text.ts";
import { runCli } from "../helpers/cli.ts";
import { haveTool, inCI, ROOT_DIR } from "../helpers/env.ts";

function inspect(...args: string[]) {
  const r = runCli(["inspect", ...args]);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("text: programs, maps, globals, relocations and CO-RE records of core.bpf.o", () => {
  const r = inspect("test/fixtures/core.bpf.o");
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /License: GPL/);
  assert.match(
    r.stdout,
    /^\s+probe\s+raw_tp\/sys_enter\s+raw_tracepoint\s+raw_tracepoint\s+sys_enter\s+137$/m,
  );
  assert.match(
    r.stdout,
    /^\s+on_exec\s+tp_btf\/sched_process_exec\s+tracing\s+tp_btf\s+sched_process_exec\s+\d+$/m,
  );
  assert.match(r.stdout, /^\s+core\.kconfig\s+array\s+4\s+17\s+1\s/m);
  // DATASEC offsets are fixed up from the symbol table (clang leaves them 0).
  assert.match(r.stdout, /^\s+\.bss\s+96\s+8\s+exec_count\s+__u64$/m);
  assert.match(r.stdout, /probe insn 3 → data core\.rodata\+0 \(probe_id\)/);
  assert.match(r.stdout, /on_exec insn 16 → extern bpf_task_from_pid/);
  assert.match(r.stdout, /probe insn 21: byte_off task_struct->real_parent/);
});

test("--json: snake_case programs, maps, relocations, core_relocations and btf.types", () => {
  const r = inspect("test/fixtures/maps.bpf.o", "--json");
  assert.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.programs, [
    {
      name: "exercise",
      section: "syscall",
      type: "syscall",
      prog_type: 31,
      expected_attach_type: 0,
      attach: "syscall",
      attach_to: "",
      sleepable: true,
      insns: 121,
    },
  ]);
  const events = j.maps.find((m: { name: string }) => m.name === "events");
  assert.equal(
    {
      type: events.type,
      key_size: events.key_size,
      value_size: events.value_size,
      max_entries: events.max_entries,
      flags: events.flags,
    },
    { type: "ringbuf", key_size: 0, value_size: 0, max_entries: 16384, flags: 0 },
  );
  assert.ok(
    j.relocations.some((x: { kind: string; target: string }) => x.kind === "map" && x.target === "events"),
  );
  assert.equal(j.core_relocations, []);
  const bpftool = spawnSync("bpftool", ["btf", "dump", "file", "test/fixtures/maps.bpf.o"], {
    cwd: ROOT_DIR,
    encoding: "utf8",
  });
  if (bpftool.status === 0)
    assert.is(j.btf.types, bpftool.stdout.split("\n").filter((l) => l.startsWith("[")).length);
  const core = JSON.parse(inspect("test/fixtures/core.bpf.o", "--json").stdout);
  assert.ok(
    core.core_relocations.some(
      (c: { program: string; kind: string; type: string; access: string }) =>
        c.program === "probe" &&
        c.kind === "byte_off" &&
        c.type === "struct task_struct" &&
        c.access === "task_struct->real_parent",
    ),
  );
});

test("--disasm: instructions with relocation targets and source lines", () => {
  const r = inspect("test/fixtures/calls.bpf.o", "--disasm");
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /calc_chain \(program, section syscall, 14 insns\):/);
  assert.match(r.stdout, /square \(subprogram, section \.text, \d+ insns\):/);
  assert.match(r.stdout, /call outer/);
  assert.match(r.stdout, /; map results/);
  assert.match(r.stdout, /; __u64 r = outer\(args->x\); \[calls\.bpf\.c:\d+\]/);
});

test("raw BTF: /sys/kernel/btf/vmlinux type count equals bpftool's", () => {
  if (!existsSync("/sys/kernel/btf/vmlinux")) {
    if (inCI) throw new Error("/sys/kernel/btf/vmlinux missing under CI");
    return;
  }
  if (!haveTool("bpftool")) return;
  const dump = spawnSync("sh", ["-c", "bpftool btf dump file /sys/kernel/btf/vmlinux | grep -c '^\\['"], {
    encoding: "utf8",
    maxBuffer: 1 << 30,
  });
  const want = Number(dump.stdout.trim());
  assert.ok(want > 1000);
  const j = JSON.parse(inspect("/sys/kernel/btf/vmlinux", "--json").stdout);
  assert.is(j.btf.types, want);
  const sum = Object.values(j.btf.kinds as Record<string, number>).reduce((a, b) => a + b, 0);
  assert.is(sum, want);
  const t = inspect("/sys/kernel/btf/vmlinux");
  assert.match(t.stdout, new RegExp(`raw BTF, ${want} types`));
  assert.match(t.stdout, /^\s+STRUCT\s+\d+$/m);
});

test("hostile names are escaped before printing", () => {
  assert.is(safe("ok_name"), "ok_name");
  assert.is(safe("a\x1b[2Jb"), "a\\x1b[2Jb");
  assert.is(safe("x\u202ey"), "x\\u{202e}y");
  // An object whose section name carries an escape sequence: patch one program section name.
  const bytes = new Uint8Array(readFileSync(join(ROOT_DIR, "test/fixtures/calls.bpf.o")));
  // The last copy is in .strtab (section names); an earlier one is a BTF string.
  const s = Buffer.from(bytes).lastIndexOf("raw_tp/sys_enter");
  assert.ok(s > 0);
  bytes[s + 7] = 0x1b;
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-inspect-"));
  try {
    writeFileSync(join(dir, "evil.bpf.o"), bytes);
    const r = inspect(join(dir, "evil.bpf.o"), "--disasm");
    assert.is(r.status, 0, r.stderr);
    assert.not.ok(r.stdout.includes("\x1b"), "no raw ESC in the output");
    assert.ok(r.stdout.includes("raw_tp/\\x1bys_enter"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("usage errors exit 2; unknown file formats exit 1 with one line", () => {
  assert.is(inspect().status, 2);
  const r = inspect("package.json");
  assert.is(r.status, 1);
  assert.match(r.stderr, /^tsbpf: package\.json: neither a BPF object nor raw BTF: starts with 7b 0a 20 20/);
  assert.is(r.stderr.trimEnd().split("\n").length, 1);
});

test.run();
