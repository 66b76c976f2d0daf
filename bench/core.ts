// CO-RE benchmark: from a COLD process each run (a fresh `node --import tsx` child),
// read bpf/process.bpf.o and /sys/kernel/btf/vmlinux and resolve every CO-RE
// relocation of every program; the child times itself from the start of the work
// (ELF + BTF parse + candidate search + resolution + patching). vmlinux BTF comes from
// kernelBtf(), the loader's own reader (a read-only mmap where the kernel allows it,
// else read(2)); the persistent CO-RE cache (src/loader/core-cache.ts) is not used, so
// every run does the whole uncached resolution. Interleaved with
// `bpftool prog loadall bpf/process.bpf.o DIR` (libbpf's whole load, for scale).
// Usage: npm run bench:core
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { appendResult, median, table } from "./lib.ts";

const OBJ = "bpf/process.bpf.o";
const RUNS = 11;
const ROOT = fileURLToPath(new URL("..", import.meta.url));

async function child(): Promise<void> {
  // Imports first: module loading is node start-up, not CO-RE work.
  const { kernelBtf } = await import("../src/loader/kernel-btf.ts");
  const { readCollectionSpec } = await import("../src/elf/collection.ts");
  const { linkProgram } = await import("../src/loader/link.ts");
  const { applyCoreRelocations } = await import("../src/core/relocate.ts");
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const obj = readFileSync(OBJ);
  const spec = readCollectionSpec(new Uint8Array(obj.buffer, obj.byteOffset, obj.byteLength), OBJ);
  const t1 = process.hrtime.bigint();
  const vmlinux = kernelBtf();
  const t2 = process.hrtime.bigint();
  let relos = 0;
  for (const p of spec.programs) {
    const lp = linkProgram(spec, p);
    if (!spec.btf || lp.coreRelos.length === 0) continue;
    relos += applyCoreRelocations({
      program: p.name,
      insns: lp.insns,
      relos: lp.coreRelos,
      localBtf: spec.btf,
      targetBtf: vmlinux,
      lineInfo: lp.lineInfo,
    }).length;
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
  const ours: ReturnType<typeof runChild>[] = [];
  const bpftool: number[] = [];
  const canLoad = process.getuid?.() === 0;
  runChild(); // warm the file cache (and tsx's transform cache) once
  for (let i = 0; i < RUNS; i++) {
    ours.push(runChild());
    if (canLoad) bpftool.push(runBpftool(i));
  }
  const med = (k: "total" | "elf" | "btf" | "resolve" | "cpu") => median(ours.map((o) => o[k]));
  const relos = ours[0]?.relos ?? 0;
  const bt = canLoad ? median(bpftool) : Number.NaN;
  const ratio = med("total") / bt;
  const f = (x: number) => x.toFixed(1);
  const rows = [
    [
      "tsbpf CO-RE (cold process)",
      f(med("total")),
      `elf ${f(med("elf"))} + vmlinux BTF ${f(med("btf"))} + resolve/patch ${f(med("resolve"))}; CPU time ${f(med("cpu"))}`,
    ],
    [
      "bpftool prog loadall",
      canLoad ? f(bt) : "n/a (needs root)",
      "whole libbpf load incl. verifier, spawned",
    ],
  ];
  const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  const body = `${table(["what", "median ms", "notes"], rows)}\n\n${relos} CO-RE relocations in ${OBJ}, ${RUNS} runs each, interleaved; target ≤ 50 ms. Load average during the run: ${load} (2 shared cores).`;
  console.log(body);
  appendResult("CO-RE resolution (bench/core.ts)", "npm run bench:core", body);
  console.log(
    `tsbpf CO-RE median ${f(med("total"))} ms, bpftool loadall median ${f(bt)} ms, ratio=${ratio.toFixed(2)}`,
  );
}

if (process.argv.includes("--child")) await child();
else await main();
