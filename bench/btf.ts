// Benchmark of the BTF reader on this machine's vmlinux BTF: full parse (Btf.parse +
// parseAll), name-index build, name lookup, against `bpftool btf dump file` spawned.
// Usage: npm run bench:btf
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { Btf } from "../src/btf/btf.ts";
import { appendResult, median, table, timeMs } from "./lib.ts";

const PATH = "/sys/kernel/btf/vmlinux";
const RUNS = 15;
const BPFTOOL_RUNS = 7;

const bytes = readFileSync(PATH);
const ours: number[] = [];
const scan: number[] = [];
const indexBuild: number[] = [];
const bpftool: number[] = [];
let types = 0;

function runBpftool(): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync("sh", ["-c", `bpftool btf dump file ${PATH} > /dev/null`], { stdio: "ignore" });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`bpftool exited with ${r.status}`);
  return ms;
}

// One untimed warm-up so the JIT has seen the code once, as a long-running loader would.
Btf.parse(bytes, { name: PATH }).parseAll();

for (let i = 0; i < RUNS; i++) {
  let btf: Btf | undefined;
  scan.push(timeMs(() => void (btf = Btf.parse(bytes, { name: PATH }))));
  let total = 0;
  total = timeMs(() => {
    btf = Btf.parse(bytes, { name: PATH });
    btf.parseAll();
  });
  ours.push(total);
  const b = btf as Btf;
  types = b.length - 1;
  indexBuild.push(timeMs(() => void b.findByName("task_struct")));
  // Interleave the peer's runs with ours so both see the same machine load.
  if (i < BPFTOOL_RUNS) bpftool.push(runBpftool());
}

// Lookups of real names, after the index is built.
const btf = Btf.parse(bytes, { name: PATH });
const names: string[] = [];
for (let id = 1; id < btf.length && names.length < 10_000; id += 13) {
  const n = btf.nameOf(id);
  if (n) names.push(n);
}
btf.findByName(names[0]);
const lookupNs: number[] = [];
let sink = 0;
for (let round = 0; round < 15; round++) {
  const reps = 20;
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < reps; r++) for (const n of names) sink += btf.findByName(n).length;
  lookupNs.push(Number(process.hrtime.bigint() - t0) / (reps * names.length));
}
if (sink === 0) throw new Error("lookups found nothing");

const m = {
  full: median(ours),
  scan: median(scan),
  index: median(indexBuild),
  lookup: median(lookupNs),
  bpftool: median(bpftool),
};
const ratio = m.full / m.bpftool;
const rows: (string | number)[][] = [
  ["types in vmlinux BTF", types],
  [`Btf.parse only (median of ${RUNS})`, `${m.scan.toFixed(1)} ms`],
  [`Btf.parse + parseAll (median of ${RUNS})`, `${m.full.toFixed(1)} ms`],
  ["name index build (median)", `${m.index.toFixed(1)} ms`],
  [`findByName lookup (median over ${names.length} real names)`, `${m.lookup.toFixed(0)} ns`],
  [`bpftool btf dump file (median of ${BPFTOOL_RUNS}, spawned)`, `${m.bpftool.toFixed(1)} ms`],
  ["ratio ours/bpftool", ratio.toFixed(3)],
];
const body = table(["measure", "value"], rows);
console.log(body);
appendResult("BTF reader: parse vmlinux BTF", "npm run bench:btf", body);
console.log(
  `btf: full=${m.full.toFixed(1)}ms index=${m.index.toFixed(1)}ms lookup=${m.lookup.toFixed(0)}ns bpftool=${m.bpftool.toFixed(1)}ms ratio=${ratio.toFixed(3)}`,
);
