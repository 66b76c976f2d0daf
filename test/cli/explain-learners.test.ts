// `tsbpf explain` for people learning BPF loading (issue 17 item 10): each check runs
// the real command on a real object and asserts what the report said was wrong:
// verifier logs of accepted programs on request (growing the buffer on ENOSPC), a
// rejected program's log printed once, feature probes labelled, ld_imm64 constants
// shown as the address they hold, no user-space pointers in decoded attrs, one `kind`
// in JSON, access strings explained once, and a verdict for every program.
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readCollectionSpec } from "../../src/elf/collection.ts";
import { assertOneLineError, runCli } from "../helpers/cli.ts";
import { privileged, ROOT_DIR } from "../helpers/env.ts";

interface Call {
  cmd: string;
  probe?: { name: string; supported: boolean };
  program?: string;
  attr: Record<string, unknown>;
  result: number;
  errno?: string;
}
interface Prog {
  name: string;
  verdict: string;
  reason?: string;
  verifier_log?: string;
  log_tail?: string[];
}

const seen = new Map<string, ReturnType<typeof run>>();
/** explain ARGS --json, run once per distinct ARGS (each run loads the object). */
function explainJson(args: string[]) {
  const key = args.join(" ");
  const hit = seen.get(key);
  if (hit) return hit;
  const out = run(args);
  seen.set(key, out);
  return out;
}
function run(args: string[]) {
  const r = runCli(["explain", ...args, "--json"], { maxBuffer: 512 * 1024 * 1024, timeoutMs: 300_000 });
  return { r, j: r.stdout ? JSON.parse(r.stdout) : undefined };
}

const count = (hay: string, needle: string) => hay.split(needle).length - 1;

test("--verifier-log: an accepted program's whole log_level 2 log; the buffer grows past 1 MiB on ENOSPC", () => {
  if (!privileged("explain --verifier-log")) return;
  // handle_exec's level-2 log is ~20 MB: the first try with 1 MiB gets ENOSPC.
  const { r, j } = explainJson(["bpf/process.bpf.o", "--program", "handle_exec", "--verifier-log"]);
  assert.is(r.status, 0, r.stderr);
  assert.is(j.verifier_log_level, 2);
  const p = j.programs[0] as Prog;
  assert.is(p.verdict, "accepted");
  const log = p.verifier_log as string;
  assert.ok(log.length > 1 << 20, `log of ${log.length} bytes`);
  assert.match(log, /^0: R1=ctx\(\) R10=fp0/m);
  assert.match(log, /processed \d+ insns \(limit \d+\)/);
  const loads = (j.bpf_calls as Call[]).filter((c) => c.cmd === "BPF_PROG_LOAD" && !c.probe);
  assert.equal(
    loads.map((c) => c.program),
    ["handle_exec", "handle_exec"],
  );
  assert.is(loads[0]?.errno, "ENOSPC");
  assert.is(loads[0]?.attr.log_level, 2);
  assert.is(loads[1]?.errno, undefined);
  const size = (c: Call | undefined) => Number(c?.attr.log_size);
  assert.ok(size(loads[1]) > size(loads[0]), `log_size ${size(loads[0])} -> ${size(loads[1])}`);
  assert.ok(size(loads[1]) > log.length);
});

test("--verifier-log with --no-load is a usage error (nothing is loaded, so there is no log)", () => {
  assertOneLineError(
    runCli(["explain", "bpf/process.bpf.o", "--no-load", "--verifier-log"]),
    2,
    /--verifier-log needs a load, and --no-load loads nothing/,
    "no-load",
  );
});

test("--verifier-log in text: the log under the verdict; without it an accepted program shows none", () => {
  if (!privileged("explain --verifier-log text")) return;
  const r = runCli(["explain", "bpf/process.bpf.o", "--program", "handle_fork", "--verifier-log"]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /handle_fork \(tracing, .*\): accepted by the verifier/);
  assert.match(r.stdout, /verifier log \(log_level 2, \d+ lines\):\n {4}\| /);
  assert.match(r.stdout, /\| \d+: \([0-9a-f]{2}\) /);
  const plain = runCli(["explain", "bpf/process.bpf.o", "--program", "handle_fork"]);
  assert.is(plain.status, 0, plain.stderr);
  assert.not.match(plain.stdout, /verifier log/);
});

test("a rejected program's log is printed once; the next program still gets its own verdict", () => {
  if (!privileged("explain rejected")) return;
  const r = runCli(["explain", "test/fixtures/reject.bpf.o"]);
  assert.is(r.status, 1, r.stderr);
  const failing = "7: (79) r0 = *(u64 *)(r0 +0)";
  assert.is(count(r.stdout, failing), 1, r.stdout);
  assert.is(count(r.stdout, "processed 7 insns"), 1);
  assert.match(
    r.stdout,
    /null_deref \(syscall, SEC\("syscall"\)\): REJECTED by the verifier\n {4}R0 invalid mem access/,
  );
  // oob_read comes after the rejected null_deref: it is loaded and judged too.
  assert.match(
    r.stdout,
    /oob_read \(syscall, SEC\("syscall"\)\): REJECTED by the verifier\n {4}R0 unbounded memory access/,
  );
  assert.not.match(r.stdout, /not.loaded/);
  const { j } = explainJson(["test/fixtures/reject.bpf.o"]);
  for (const p of j.programs as Prog[]) {
    assert.is(p.verdict, "rejected", p.name);
    assert.ok(p.reason && !p.reason.includes("\n"), `${p.name}: one-line reason`);
    assert.ok((p.log_tail ?? []).length > 0);
  }
});

test("explain goes on past a failing program: every later program has a verdict with its reason", () => {
  if (!privileged("explain continue")) return;
  // read_missing hits a poisoned CO-RE field; guarded, after it, loads.
  const { r, j } = explainJson(["test/fixtures/core_fail.bpf.o"]);
  assert.is(r.status, 1, r.stderr);
  const byName = Object.fromEntries((j.programs as Prog[]).map((p) => [p.name, p]));
  assert.is(byName.read_missing?.verdict, "rejected");
  assert.match(byName.read_missing?.reason ?? "", /tsbpf_no_such_field not found/);
  assert.is(byName.guarded?.verdict, "accepted");
  // fentry programs: accepted where trampolines exist, otherwise failed with the reason.
  const f = explainJson(["test/fixtures/trampoline.bpf.o"]).j;
  assert.is(f.programs.length, 4);
  for (const p of f.programs as Prog[]) {
    assert.ok(["accepted", "failed"].includes(p.verdict), `${p.name}: ${p.verdict}`);
    if (p.verdict === "failed") assert.match(p.reason ?? "", /trampolines/);
  }
  // A load that stops before any program: each program says it was skipped, and why.
  const u = runCli(["explain", "test/fixtures/unknown_sec.bpf.o"]);
  assert.is(u.status, 1);
  // In text the shared cause is printed once, at the end; in JSON each reason carries it.
  assert.match(
    u.stdout,
    /filter_named \(unspec, SEC\("socket\/name"\)\): skipped\n {4}not tried: the load stopped before this program \(why: 'load failed' below\)/,
  );
  assert.is(count(u.stdout, "gives no program type"), 1);
  assert.match(u.stdout, /\nload failed: .*gives no program type/);
  const uj = explainJson(["test/fixtures/unknown_sec.bpf.o"]).j;
  assert.match(
    uj.programs[0].reason,
    /^not tried: the load stopped before this program: .*gives no program type/,
  );
  for (const o of [
    "test/fixtures/reject.bpf.o",
    "test/fixtures/core_fail.bpf.o",
    "test/fixtures/unknown_sec.bpf.o",
  ]) {
    for (const p of explainJson([o]).j.programs as Prog[]) {
      assert.ok(["accepted", "rejected", "failed", "skipped"].includes(p.verdict), `${o} ${p.name}`);
      if (p.verdict !== "accepted") assert.ok(p.reason, `${o} ${p.name} has a reason`);
    }
  }
});

test("feature probes are labelled as probes, apart from the object's own BPF_BTF_LOAD", () => {
  if (!privileged("explain probes")) return;
  const { r, j } = explainJson(["bpf/process.bpf.o"]);
  assert.is(r.status, 0, r.stderr);
  const spec = readCollectionSpec(readFileSync(`${ROOT_DIR}/bpf/process.bpf.o`), "process.bpf.o");
  const btfLoads = (j.bpf_calls as Call[]).filter((c) => c.cmd === "BPF_BTF_LOAD");
  const own = btfLoads.filter((c) => !c.probe);
  assert.is(own.length, 1);
  // The object's BTF is its .BTF section, sanitised for the kernel: about that size, far
  // larger than a probe's few dozen bytes.
  assert.ok(Number(own[0]?.attr.btf_size) > 1000 && spec.btf !== undefined);
  const probes = btfLoads.filter((c) => c.probe);
  assert.ok(probes.length > 0);
  for (const c of probes) {
    assert.match(c.probe?.name ?? "", /^btf_/);
    assert.is(c.probe?.supported, true);
    assert.ok(Number(c.attr.btf_size) < 200);
  }
  // In text the probe calls say so, and the object's own load does not.
  const t = runCli(["explain", "bpf/process.bpf.o"]).stdout;
  const lines = t.split("\n").filter((l) => l.trimStart().startsWith("BPF_BTF_LOAD"));
  assert.is(lines.filter((l) => /\[probe btf_\w+: supported\]/.test(l)).length, probes.length);
  assert.is(lines.filter((l) => !l.includes("[probe")).length, 1);
});

test("_stext's address and the ld_imm64 that loads it are shown as the same number", () => {
  if (!privileged("explain _stext")) return;
  const { r, j } = explainJson(["test/fixtures/core.bpf.o"]);
  assert.is(r.status, 0, r.stderr);
  const ext = (j.externs as { name: string; value: string }[]).find((e) => e.name === "_stext");
  const addr = /0x[0-9a-f]+/.exec(ext?.value ?? "")?.[0];
  assert.ok(addr, ext?.value);
  const kallsyms = readFileSync("/proc/kallsyms", "utf8").match(/^([0-9a-f]+) T _stext$/m)?.[1];
  assert.is(BigInt(addr), BigInt(`0x${kallsyms}`));
  const rel = (j.relocations as { target: string; after: string; imm64?: string }[]).find((x) =>
    x.target.includes("_stext"),
  );
  assert.is(rel?.imm64, addr);
  // llvm-objdump syntax prints the 64-bit immediate signed: the same bits.
  const signed = /= (-?0x[0-9a-f]+) ll$/.exec(rel?.after ?? "")?.[1] as string;
  const asU64 = BigInt.asUintN(64, signed.startsWith("-") ? -BigInt(signed.slice(1)) : BigInt(signed));
  assert.is(asU64, BigInt(addr));
  const t = runCli(["explain", "test/fixtures/core.bpf.o"]).stdout;
  assert.ok(t.includes(`${rel?.after}  (= ${addr})`), "the text gives the unsigned form beside it");
  assert.match(t, /low 32 bits\n.*high 32 bits/);
});

test("decoded attrs hold no user-space pointers: each says what it points to", () => {
  if (!privileged("explain pointers")) return;
  const { j } = explainJson(["bpf/process.bpf.o"]);
  const calls = j.bpf_calls as Call[];
  for (const c of calls) {
    for (const [k, v] of Object.entries(c.attr))
      assert.ok(!(typeof v === "string" && /^0x[0-9a-f]+$/.test(v)), `${c.cmd} ${k}=${v}`);
  }
  const loads = calls.filter((c) => c.cmd === "BPF_PROG_LOAD" && !c.probe);
  assert.ok(loads.length >= 7);
  for (const c of loads) {
    assert.is(c.attr.insns, `<${c.attr.insn_cnt} insns>`);
    assert.is(c.attr.license, "Dual BSD/GPL");
    assert.is(c.attr.log_buf, "<log buffer 1 MiB>");
    assert.match(String(c.attr.line_info), /^<\d+ line_info records>$/);
  }
  const upd = calls.find((c) => c.cmd === "BPF_MAP_UPDATE_ELEM");
  assert.is(upd?.attr.key, "<4-byte key of map 'process.rodata'>");
  assert.match(String(upd?.attr.value), /^<\d+-byte value of map 'process.rodata'>$/);
  const t = runCli(["explain", "bpf/process.bpf.o"]).stdout;
  assert.match(t, /insns=<1028 insns> license="Dual BSD\/GPL"/);
  assert.not.match(t.slice(t.indexOf("bpf() calls")), /=0x[0-9a-f]{6,}/);
});

test("JSON CO-RE records carry kind (libbpf's name) and no kind_name", () => {
  for (const args of [["--no-load"], ...(privileged("explain kind") ? [[]] : [])]) {
    const { j } = explainJson(["bpf/process.bpf.o", ...args]);
    assert.ok(j.core_relocations.length > 0);
    for (const c of j.core_relocations) {
      assert.type(c.kind, "string");
      assert.not.ok("kind_name" in c, `kind_name in ${args}`);
    }
  }
});

test("an access string is explained once, and each record names what its indexes select", () => {
  const r = runCli(["explain", "bpf/process.bpf.o", "--no-load"]);
  assert.is(r.status, 0, r.stderr);
  assert.is(count(r.stdout, "An access string like 0:9"), 1);
  assert.match(r.stdout, /access 0:9 {2}\[0\]\.tgid#9 = task_struct->tgid/);
  const { j } = explainJson(["bpf/process.bpf.o", "--no-load"]);
  const tgid = j.core_relocations.find((c: { access: { spec: string } }) => c.access.spec === "0:9");
  assert.equal(
    tgid.access.steps.map((s: { index: number; name?: string }) => [s.index, s.name]),
    [
      [0, undefined],
      [9, "tgid"],
    ],
  );
  const target = tgid.access.target_steps;
  assert.is(target[1].name, "tgid");
  assert.is(`0:${target[1].index}`, tgid.access.target);
  assert.match(r.stdout, new RegExp(`access ${tgid.access.target} {2}\\[0\\]\\.tgid#${target[1].index}`));
});

test.run();
