// CO-RE benchmark: from a COLD process each run, read bpf/process.bpf.o and the
// running kernel's BTF (/sys/kernel/btf/vmlinux) and resolve every CO-RE relocation of
// every program (ELF + BTF parse + candidate search + resolution + patching). The
// persistent CO-RE cache (src/loader/core-cache.ts) is never used: every run does the
// whole uncached resolution. Interleaved with `bpftool prog loadall bpf/process.bpf.o
// DIR` (libbpf's whole load, for scale).
//
// Headline: the shipped binary, `dist/tsbpf explain bpf/process.bpf.o --no-load` with
// TSBPF_TIMING=1, whose phase lines on stderr bracket exactly that work (src/core/
// explain.ts: "explain: started" → "explain: CO-RE resolved"). The object is read from
// the file, not the binary's pre-parsed copy, so the ELF parse is timed too. Second row:
// the same work from source, a fresh `node --import tsx` child timing itself, without
// the binary's start-up snapshot (which holds the bytecode of this path:
// src/binary/snapshot-warmup.ts).
// `--baseline PATH` adds another build's binary as a row, run the same way and
// interleaved (the before/after A/B of a change).
// Usage: npm run bench:core [-- --runs N] [-- --baseline PATH]
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { appendResult, commandLine, loadAverage, median, table } from "./lib.ts";
import { baselineTsbpf, ensureTsbpf } from "./workloads/tracers.ts";

const OBJ = "bpf/process.bpf.o";
const RUNS = 11;
const ROOT = fileURLToPath(new URL("..", import.meta.url));

async function child(): Promise<void> {
  // Imports first: module loading is node start-up, not CO-RE work.
  const { BtfCache } = await import("../src/btf/kernel.ts");
  const { coreTargets } = await import("../src/core/candidates.ts");
  const { readCollectionSpec } = await import("../src/elf/collection.ts");
  const { linkProgram } = await import("../src/loader/link.ts");
  const { relocateLinked } = await import("../src/core/relocate.ts");
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const obj = readFileSync(OBJ);
  const spec = readCollectionSpec(new Uint8Array(obj.buffer, obj.byteOffset, obj.byteLength), OBJ);
  const t1 = process.hrtime.bigint();
  const cache = new BtfCache();
  const vmlinux = cache.kernel();
  const t2 = process.hrtime.bigint();
  let relos = 0;
  const targets = coreTargets(vmlinux, cache.modules());
  for (const p of spec.programs) {
    const lp = linkProgram(spec, p);
    if (!spec.btf || lp.coreRelos.length === 0) continue;
    relos += relocateLinked(lp, spec.btf, targets).length;
  }
  const t3 = process.hrtime.bigint();
  const cpu = process.cpuUsage(c0);
  const ms = (a: bigint, b: bigint) => Number(b - a) / 1e6;
  process.stdout.write(
    `${JSON.stringify({ total: ms(t0, t3), elf: ms(t0, t1), btf: ms(t1, t2), resolve: ms(t2, t3), cpu: (cpu.user + cpu.system) / 1000, relos })}\n`,
  );
}

function runChild(): {
  total: number;
  elf: number;
  btf: number;
  resolve: number;
  cpu: number;
  relos: number;
} {
  const r = spawnSync(process.execPath, ["--import", "tsx", "bench/core.ts", "--child"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop() as string);
}

/** One cold run of the binary: the phases of `explain --no-load` (TSBPF_TIMING=1). */
function runBinary(bin: string): { total: number; elf: number; btf: number; resolve: number; relos: number } {
  const r = spawnSync(bin, ["explain", OBJ, "--no-load", "--json"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 120_000,
    // A clean environment, as from a user's shell (see bench/startup.ts on why).
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/root", TSBPF_TIMING: "1" },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`${bin} explain failed: ${r.stderr}`);
  const at = (what: string): number => {
    const line = r.stderr.split("\n").find((l) => l.includes(`explain: ${what}`));
    const m = line?.match(/timing:\s+([0-9.]+) ms/);
    if (!m) throw new Error(`no '${what}' phase in ${bin}'s TSBPF_TIMING output:\n${r.stderr}`);
    return Number(m[1]);
  };
  const t0 = at("started");
  const t1 = at("ELF parsed");
  const t2 = at("target BTF read");
  const t3 = at("CO-RE resolved");
  const relos = Number(r.stderr.match(/CO-RE resolved \((\d+) relocations\)/)?.[1] ?? 0);
  return { total: t3 - t0, elf: t1 - t0, btf: t2 - t1, resolve: t3 - t2, relos };
}

function runBpftool(i: number): number {
  const dir = `/sys/fs/bpf/tsbpf-bench-core-${process.pid}-${i}`;
  const t0 = process.hrtime.bigint();
  const r = spawnSync("bpftool", ["prog", "loadall", OBJ, dir], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 120_000,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`bpftool prog loadall failed: ${r.stderr}`);
  return ms;
}

async function main(): Promise<void> {
  // --runs N: a quick run, not recorded in bench/RESULTS.md.
  const quick = process.argv.includes("--runs");
  const runs = quick ? Number(process.argv[process.argv.indexOf("--runs") + 1]) || RUNS : RUNS;
  const bin = ensureTsbpf((m) => console.log(m));
  if (bin.prefix.length > 0) throw new Error(`bench:core needs the single binary: ${bin.how}`);
  const before = baselineTsbpf();
  const binary: ReturnType<typeof runBinary>[] = [];
  const baseline: ReturnType<typeof runBinary>[] = [];
  const source: ReturnType<typeof runChild>[] = [];
  const bpftool: number[] = [];
  const canLoad = process.getuid?.() === 0;
  // Warm the file cache (and tsx's transform cache) once; not counted.
  runChild();
  runBinary(bin.cmd);
  if (before) runBinary(before.cmd);
  for (let i = 0; i < runs; i++) {
    binary.push(runBinary(bin.cmd));
    if (before) baseline.push(runBinary(before.cmd));
    source.push(runChild());
    if (canLoad) bpftool.push(runBpftool(i));
  }
  type Phase = "total" | "elf" | "btf" | "resolve";
  const med = (xs: Record<Phase, number>[], k: Phase) => median(xs.map((o) => o[k]));
  const relos = binary[0]?.relos ?? 0;
  if (source[0] && source[0].relos !== relos)
    throw new Error(`the binary resolved ${relos} CO-RE relocations, the source run ${source[0].relos}`);
  const bt = canLoad ? median(bpftool) : Number.NaN;
  const headline = med(binary, "total");
  const ratio = headline / bt;
  const f = (x: number) => x.toFixed(1);
  const phases = (xs: Record<Phase, number>[]) =>
    `elf ${f(med(xs, "elf"))} + vmlinux BTF ${f(med(xs, "btf"))} + resolve/patch ${f(med(xs, "resolve"))}`;
  const range = (xs: Record<Phase, number>[]) => {
    const t = xs.map((o) => o.total).sort((a, b) => a - b);
    return `${f(t[0] ?? Number.NaN)}–${f(t[t.length - 1] ?? Number.NaN)}`;
  };
  const rows = [
    [`tsbpf CO-RE, ${bin.shown} (cold process)`, f(headline), range(binary), `${phases(binary)}`],
    ...(before
      ? [
          [
            `baseline CO-RE, ${before.shown} (cold process)`,
            f(med(baseline, "total")),
            range(baseline),
            phases(baseline),
          ],
        ]
      : []),
    [
      "tsbpf CO-RE, from source (node --import tsx, cold process)",
      f(med(source, "total")),
      range(source),
      `${phases(source)}; CPU time ${f(median(source.map((o) => o.cpu)))}`,
    ],
    [
      "bpftool prog loadall",
      canLoad ? f(bt) : "n/a (needs root)",
      canLoad ? `${f(Math.min(...bpftool))}–${f(Math.max(...bpftool))}` : "",
      "whole libbpf load incl. verifier, spawned",
    ],
  ];
  const load = loadAverage();
  const body =
    `${table(["what", "median ms", "range", "notes"], rows)}\n\n` +
    `${relos} CO-RE relocations in ${OBJ}, ${runs} runs each, interleaved; target ≤ 50 ms (the binary's median). ` +
    `Binary: the phases \`${bin.shown} explain ${OBJ} --no-load\` prints with TSBPF_TIMING=1, from "explain: started" to "explain: CO-RE resolved". ` +
    `Load average during the run: ${load} (2 shared cores).`;
  console.log(body);
  if (!quick) appendResult("CO-RE resolution (bench/core.ts)", commandLine("bench:core"), body);
  console.log(
    `tsbpf CO-RE median ${f(headline)} ms (${bin.shown}; from source ${f(med(source, "total"))} ms${before ? `; baseline ${f(med(baseline, "total"))} ms` : ""}), bpftool loadall median ${f(bt)} ms, ratio=${ratio.toFixed(2)}`,
  );
}

if (process.argv.includes("--child")) await child();
else await main();
