// bench:report: the HTML report at 50,000 processes in headless Chromium (Debian's), against
// a peer drawn the obvious way: one DOM row with a positioned bar per process, nothing
// virtualised. Measures, for each page: time to the first painted frame showing the rows,
// then smoothness while scrolling the whole list at a steady speed (intervals
// between animation frames: median, p95, max, frames over 50 ms), and for tsbpf the time
// its canvas frame took to draw. Also the Node side: NDJSON → model → HTML, and page size.
// Usage: npm run bench:report [-- --procs 50000 --frames 240]
// Last line: "... ratio=R" with R = tsbpf first paint ÷ the peer's (lower is better).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { renderHtml } from "../src/report/html.ts";
import { buildTrace } from "../src/report/model.ts";
import { parseNdjson } from "../src/report/parse.ts";
import { launchChromium, until } from "../test/report/browser.ts";
import { appendResult, argValue, median, table, timeMs } from "./lib.ts";

const PROCS = Number(argValue("--procs", "50000"));
const FRAMES = Number(argValue("--frames", "240"));

/** Deterministic PRNG (mulberry32): the same trace every run. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A make -j8 of PROCS/4 files: make → cc → (cc1, as, collect2), as NDJSON lines. */
function synthBuild(n: number): string {
  const r = rng(42);
  const base = Date.parse("2026-01-01T00:00:00Z") * 1000;
  const iso = (us: number) => {
    const t = base + Math.round(us);
    return `${new Date(Math.floor(t / 1000)).toISOString().slice(0, 19)}.${String(t % 1_000_000).padStart(6, "0")}Z`;
  };
  const lines: string[] = [];
  let pid = 1000;
  const id = (p: number) => `${p}-${p * 3}`;
  const common = (p: number, pp: number, comm: string) =>
    `"pid":${p},"tid":${p},"ppid":${pp},"uid":1000,"gid":1000,"comm":"${comm}","exec_id":"${id(p)}","parent_exec_id":"${id(pp)}","cgroup_id":9`;
  const out: [number, string][] = [];
  const ev = (t: number, s: string) => out.push([t, s]);
  const exec = (t: number, p: number, pp: number, comm: string, argv: string[]) =>
    ev(
      t,
      `{"event":"exec","time":"${iso(t)}",${common(p, pp, comm)},"filename":"/usr/bin/${comm}","argv":${JSON.stringify(argv)},"argc":${argv.length},"argv_truncated":false}`,
    );
  const fork = (t: number, p: number, pp: number, comm: string, c: number) =>
    ev(
      t,
      `{"event":"fork","time":"${iso(t)}",${common(p, pp, comm)},"child_pid":${c},"child_tid":${c},"thread":false,"child_exec_id":"${id(c)}"}`,
    );
  const exit = (
    t: number,
    p: number,
    pp: number,
    comm: string,
    code: number,
    sig: number | null,
    life: number,
  ) =>
    ev(
      t,
      `{"event":"exit","time":"${iso(t)}",${common(p, pp, comm)},"exit_code":${code},"signal":${sig},"signal_name":${sig ? '"SIGKILL"' : null},"core_dumped":false,"lifetime_ns":${Math.round(life * 1000)},"status":${sig ?? code << 8}}`,
    );
  const make = pid++;
  exec(0, make, 1, "make", ["make", "-j8"]);
  const slots = new Array(8).fill(1000);
  const groups = Math.max(1, Math.floor((n - 1) / 4));
  let end = 0;
  for (let g = 0; g < groups; g++) {
    const s = slots.indexOf(Math.min(...slots));
    const t0 = slots[s] as number;
    const dur = 30_000 + r() * 300_000;
    const cc = pid++;
    const file = `src/dir${g % 97}/file${g}.c`;
    fork(t0, make, 1, "make", cc);
    exec(t0 + 300, cc, make, "cc", ["cc", "-O2", "-c", "-o", file.replace(/\.c$/, ".o"), file]);
    let t = t0 + 600;
    for (const [comm, share] of [
      ["cc1", 0.6],
      ["as", 0.2],
      ["collect2", 0.1],
    ] as const) {
      const c = pid++;
      const d = dur * share;
      fork(t, cc, make, "cc", c);
      exec(t + 200, c, cc, comm, [comm, "-quiet", file, "-o", `/tmp/cc${g}.s`]);
      exit(t + d, c, cc, comm, 0, null, d);
      t += d + 100;
    }
    const fail = r() < 0.01;
    const killed = !fail && r() < 0.002;
    exit(t + 200, cc, make, "cc", fail ? 1 : 0, killed ? 9 : null, t + 200 - t0);
    slots[s] = t + 400;
    end = Math.max(end, t + 400);
  }
  exit(end + 1000, make, 1, "make", 0, null, end + 1000);
  out.sort((a, b) => a[0] - b[0]);
  for (const [, s] of out) lines.push(s);
  return `${lines.join("\n")}\n`;
}

/** The peer: every process a DOM row with a bar, all in the document at once. */
function peerHtml(trace: ReturnType<typeof buildTrace>): string {
  const rows = trace.processes.map((p) => [p.pid, p.comm, p.start, (p.end ?? trace.duration) - p.start]);
  return `<!doctype html><html><head><meta charset="utf-8"><style>
body{margin:0;font:12px system-ui}#c{position:absolute;inset:0;overflow-y:scroll}
.r{height:18px;position:relative;white-space:nowrap}.l{position:absolute;left:4px;width:270px;overflow:hidden}
.b{position:absolute;top:3px;height:12px;background:#3a9b5c}</style></head><body><div id="c"></div>
<script>const D=${JSON.stringify({ rows, dur: trace.duration })};
const c=document.getElementById("c");const f=document.createDocumentFragment();
for(const [pid,comm,s,d] of D.rows){const r=document.createElement("div");r.className="r";
const l=document.createElement("span");l.className="l";l.textContent=comm+" "+pid;
const b=document.createElement("div");b.className="b";b.style.left="calc(280px + "+(s/D.dur*100).toFixed(4)+"% * 0.7)";
b.style.width="max(1px, calc("+(d/D.dur*100).toFixed(4)+"% * 0.7))";r.append(l,b);f.append(r);}
c.append(f);window.peerReady=true;
requestAnimationFrame(()=>requestAnimationFrame(()=>{window.peerPaint=performance.now();}));</script></body></html>`;
}

interface PageFigures {
  paintMs: number;
  intervals: number[];
  drawMs: number[];
}

/** Scrolls `scroller` from top to bottom over FRAMES animation frames; returns frame intervals. */
async function scrollRun(
  page: Page,
  scroller: string,
  withDraw: boolean,
): Promise<{ intervals: number[]; draw: number[] }> {
  return (await page.evaluate(`new Promise((resolve) => {
    const el = document.getElementById(${JSON.stringify(scroller)});
    const step = Math.max(1, (el.scrollHeight - el.clientHeight) / ${FRAMES});
    const times = []; const draw = [];
    let n = 0;
    const tick = (ts) => {
      times.push(ts);
      ${withDraw ? "draw.push(window.tsbpfReport.lastDrawMs);" : ""}
      if (n++ >= ${FRAMES}) {
        const iv = []; for (let i = 1; i < times.length; i++) iv.push(times[i] - times[i - 1]);
        resolve({ intervals: iv.slice(2), draw: draw.slice(2) });
        return;
      }
      el.scrollTop += step;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  })`)) as { intervals: number[]; draw: number[] };
}

/** ms from navigation start until the first frame showing the rows was painted. */
async function firstPaint(page: Page, who: "tsbpf" | "peer"): Promise<number> {
  const expr = who === "tsbpf" ? "window.tsbpfReport && window.tsbpfReport.firstPaintMs" : "window.peerPaint";
  await until(page, expr, 180_000);
  return (await page.evaluate(expr)) as number;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
};

async function main(): Promise<void> {
  const load0 = loadavg()[0];
  let ndjson = "";
  const genMs = timeMs(() => {
    ndjson = synthBuild(PROCS);
  });
  let trace!: ReturnType<typeof buildTrace>;
  let html = "";
  const modelMs = timeMs(() => {
    trace = buildTrace(parseNdjson(ndjson, "synthetic.ndjson"));
  });
  const htmlMs = timeMs(() => {
    html = renderHtml(trace, { source: "synthetic.ndjson", generator: "bench" });
  });
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-bench-report-"));
  const ours = join(dir, "report.html");
  const peer = join(dir, "peer.html");
  writeFileSync(ours, html);
  writeFileSync(peer, peerHtml(trace));
  console.log(
    `${trace.processes.length} processes, ${ndjson.length} bytes NDJSON; model ${modelMs.toFixed(0)} ms, HTML ${htmlMs.toFixed(0)} ms, ${(html.length / 1e6).toFixed(1)} MB (generator ${genMs.toFixed(0)} ms)`,
  );
  const chrome = await launchChromium();
  const results: Record<string, PageFigures[]> = { tsbpf: [], peer: [] };
  try {
    // Interleaved repetitions, each on a fresh page.
    for (let rep = 0; rep < 3; rep++) {
      for (const who of ["tsbpf", "peer"] as const) {
        const page = await chrome.newPage({ width: 1400, height: 900 });
        await page.goto(`file://${who === "tsbpf" ? ours : peer}`, { timeout: 180_000 });
        const first = await firstPaint(page, who);
        if (who === "tsbpf") {
          // Scroll through every row, as the peer does (a big tree opens partly collapsed).
          await page.click("#expand-all");
          await until(page, `window.tsbpfReport.rowCount() === ${trace.processes.length}`);
        }
        const run = await scrollRun(page, who === "tsbpf" ? "scroller" : "c", who === "tsbpf");
        results[who]?.push({ paintMs: first, intervals: run.intervals, drawMs: run.draw });
        console.log(
          `  ${who} rep ${rep + 1}: first paint ${first.toFixed(0)} ms, frame p50 ${pct(run.intervals, 0.5).toFixed(1)} ms, p95 ${pct(run.intervals, 0.95).toFixed(1)} ms`,
        );
        await page.close();
      }
    }
  } finally {
    await chrome.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const row = (who: string) => {
    const rs = results[who] as PageFigures[];
    const iv = rs.flatMap((r) => r.intervals);
    const draw = rs.flatMap((r) => r.drawMs);
    return [
      who === "tsbpf" ? "tsbpf report (canvas, visible rows only)" : "peer: one DOM row per process",
      median(rs.map((r) => r.paintMs)).toFixed(0),
      pct(iv, 0.5).toFixed(1),
      pct(iv, 0.95).toFixed(1),
      Math.max(...iv).toFixed(1),
      `${iv.filter((x) => x > 50).length} / ${iv.length}`,
      draw.length ? `${median(draw).toFixed(2)} / ${Math.max(...draw).toFixed(2)}` : "",
    ];
  };
  const ratio = median(results.tsbpf!.map((r) => r.paintMs)) / median(results.peer!.map((r) => r.paintMs));
  const body = [
    `${trace.processes.length} processes (a synthetic make -j8: make → cc → cc1, as, collect2), page ${(html.length / 1e6).toFixed(1)} MB. Node: NDJSON → model ${modelMs.toFixed(0)} ms, model → HTML ${htmlMs.toFixed(0)} ms. Headless Chromium (${"/usr/bin/chromium"}, --disable-gpu), viewport 1400×900, 3 interleaved repetitions; first paint = ms from navigation start to the second animation frame after the rows were first drawn (canvas draw, or the DOM rows appended), i.e. once that frame was painted; the header alone paints earlier and is not counted (median); scrolling = top to bottom in ${FRAMES} animation frames, intervals between frames over all repetitions. Load average at start: ${load0.toFixed(2)}.`,
    "",
    table(
      [
        "page",
        "first paint ms",
        "frame p50 ms",
        "frame p95 ms",
        "frame max ms",
        "frames > 50 ms",
        "canvas draw ms median / max",
      ],
      [row("tsbpf"), row("peer")],
    ),
    "",
    `First paint, tsbpf ÷ peer: ${ratio.toFixed(3)}.`,
  ].join("\n");
  appendResult(
    "Report at 50,000 processes: tsbpf report vs a full-DOM waterfall",
    `npm run bench:report${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
    body,
  );
  console.log(
    `first paint tsbpf ${row("tsbpf")[1]} ms, peer ${row("peer")[1]} ms; ratio=${ratio.toFixed(3)}`,
  );
}

if (process.env.SYNTH_ONLY)
  process.stdout.write(synthBuild(PROCS)); // the trace alone, to profile with
else await main();
