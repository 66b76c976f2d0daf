// bench:load — time to load and attach a multi-program object (attach.bpf.o: three
// programs, tracepoint + raw_tracepoint + tp_btf) with tsbpf, measured inside the
// process (no Node start-up; each run starts from nothing and closes everything), vs
// `bpftool prog loadall OBJ DIR autoattach` spawned (its exec included), interleaved.
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadCollection } from "../src/loader/collection.ts";
import { appendResult, median, table, timeMs, timeMsAsync } from "./lib.ts";

const OBJ = fileURLToPath(new URL("../test/fixtures/attach.bpf.o", import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const DIR = `/sys/fs/bpf/tsbpf-bench-${process.pid}`;

/**
 * One fresh load (+ attach) of the object; close() runs after the clock stops: detaching
 * a perf-event tracepoint link waits for an RCU grace period in the kernel (~60 ms
 * here), which bpftool's timing does not include either (its exit frees asynchronously).
 */
async function tsbpfOnce(attach: boolean): Promise<number> {
  let coll: Awaited<ReturnType<typeof loadCollection>> | undefined;
  const ms = await timeMsAsync(async () => {
    coll = await loadCollection(OBJ);
    if (attach) for (const p of Object.values(coll.programs)) p.attach();
  });
  coll?.close();
  return ms;
}

function bpftoolOnce(autoattach: boolean): number {
  const args = ["prog", "loadall", OBJ, DIR, ...(autoattach ? ["autoattach"] : [])];
  let status: number | null = null;
  let stderr = "";
  const ms = timeMs(() => {
    const r = spawnSync("bpftool", args, { encoding: "utf8" });
    status = r.status;
    stderr = r.stderr;
  });
  rmSync(DIR, { recursive: true, force: true });
  if (status !== 0) throw new Error(`bpftool ${args.join(" ")} failed: ${stderr}`);
  return ms;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error("bench:load needs root (it loads and attaches BPF programs)");
    process.exit(1);
  }
  rmSync(DIR, { recursive: true, force: true });
  // Does this bpftool attach too (autoattach, bpftool 7.1+)?
  let autoattach = true;
  try {
    bpftoolOnce(true);
  } catch {
    autoattach = false;
  }
  // Warm-up: JIT of our code, feature probes, kernel BTF parse (cached per process, as in real use).
  await tsbpfOnce(true);
  bpftoolOnce(autoattach);
  const ours: number[] = [];
  const oursLoadOnly: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    ours.push(await tsbpfOnce(true));
    theirs.push(bpftoolOnce(autoattach));
    oursLoadOnly.push(await tsbpfOnce(false));
  }
  const ml = median(oursLoadOnly);
  const mo = median(ours);
  const mt = median(theirs);
  const ratio = mo / mt;
  const bt = `bpftool prog loadall${autoattach ? " … autoattach" : ""} (spawned)`;
  const rows = [
    [
      "tsbpf loadCollection + attach all (in-process)",
      mo.toFixed(2),
      Math.min(...ours).toFixed(2),
      Math.max(...ours).toFixed(2),
    ],
    [
      "tsbpf loadCollection only (in-process)",
      ml.toFixed(2),
      Math.min(...oursLoadOnly).toFixed(2),
      Math.max(...oursLoadOnly).toFixed(2),
    ],
    [bt, mt.toFixed(2), Math.min(...theirs).toFixed(2), Math.max(...theirs).toFixed(2)],
  ];
  const body = `${table(["what (attach.bpf.o, 3 programs)", "median ms", "min ms", "max ms"], rows)}\n\n${RUNS} interleaved runs each after one warm-up; ratio = tsbpf load+attach median / bpftool median = ${ratio.toFixed(3)}${autoattach ? "" : ` (this bpftool has no autoattach, so it only loads and pins: load-only ratio ${(ml / mt).toFixed(3)})`}`;
  console.log(body);
  appendResult("bench:load — load + attach attach.bpf.o", "npm run bench:load", body);
  console.log(`tsbpf ${mo.toFixed(2)} ms, bpftool ${mt.toFixed(2)} ms, ratio=${ratio.toFixed(3)}`);
}

await main();
