// The tracers the benches compare: how to launch each one, how to tell that it is
// ready (it reported a marker exec), and how to read back what it reported.
// Every tracer writes to a file (cheap but real output). Peers that use stdio get
// line-buffered stdout (`stdbuf -oL`, bpftrace's default), which is what they do on
// a terminal and what lets the harness see their first event; tsbpf uses its own
// `-o FILE` writer, which batches.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { BENCH_DIR, OUT_DIR } from "./build.ts";

export const ROOT = join(BENCH_DIR, "..");

export type Kind = "fork" | "exec" | "exit";

/** One reported event, keyed by the pid that created the process it describes. */
export interface Rec {
  kind: Kind | "lost";
  /** fork: the forking pid; exec/exit: the process's ppid */
  parent: number;
  /** exec: argv bytes captured, NULs counted (as the kernel lays argv out) */
  argvBytes?: number;
  /** lost: events the tracer admitted losing */
  lost?: number;
}

export interface TracerProc {
  name: string;
  cmd: string;
  args: string[];
  /**
   * Environment variables on top of the clean base every tracer gets (PATH, HOME,
   * TERM, LANG: see CLEAN_ENV_KEYS in session.ts).
   */
  env?: Record<string, string>;
  /** Start from the harness's whole environment instead of the clean base (a bench variant). */
  inheritEnv?: boolean;
  /** The file its events go to. */
  out: string;
  /** true: the harness points stdout at `out`; false: the tracer opens it (-o). */
  viaStdout: boolean;
  /** True for an output line that reports one of the marker generator's events. */
  ready(line: string, tag: string, markerPid: number): boolean;
  /** Reported events in this process's output. */
  parse(text: string): Rec[];
}

export interface Tracer {
  id: string;
  label: string;
  covers: Kind[];
  /** Processes to launch; their output files go in dir. */
  procs(dir: string): TracerProc[];
  /** Why it cannot run here (missing program), or undefined. */
  missing(): string | undefined;
}

function which(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

/**
 * Drops each tracer's executable from the page cache, once, before a memory benchmark,
 * so every binary runs from the page cache an installed binary has after a reboot,
 * whatever wrote it last. Why it matters (bench/README.md, Memory): since Linux 6.18 a
 * page fault maps the whole page-cache folio around it, and the size of those folios
 * depends on how the file entered the cache: one big write() (the build) leaves 512 KiB
 * folios, which put ~6 MB more of the same Node code in a tracer's RSS than the small
 * folios exec-time readahead makes. `sync FILE` writes the pages back (only clean pages
 * can be dropped), GNU dd's `iflag=nocache count=0` is posix_fadvise(POSIX_FADV_DONTNEED)
 * over the whole file. Returns the files it could not drop.
 */
export function coldPageCache(tracers: Tracer[], tsbpf: (TsbpfBinary | undefined)[]): string[] {
  const files = new Set<string>();
  for (const b of tsbpf) if (b && b.prefix.length === 0) files.add(b.cmd);
  for (const t of tracers) {
    if (t.missing()) continue;
    for (const p of t.procs(tmpdir())) {
      const cmd = p.cmd === "stdbuf" ? (p.args[1] as string) : p.cmd;
      const r = spawnSync("sh", ["-c", 'command -v "$1"', "sh", cmd], { encoding: "utf8" });
      if (r.status === 0 && r.stdout.trim().startsWith("/")) files.add(r.stdout.trim());
    }
  }
  const failed: string[] = [];
  for (const f of files) {
    const ok =
      spawnSync("sync", [f]).status === 0 &&
      spawnSync("dd", [`if=${f}`, "iflag=nocache", "count=0"], { stdio: "ignore" }).status === 0;
    if (!ok) failed.push(f);
  }
  return failed;
}

function bytesOf(args: string): number {
  return Buffer.byteLength(args) + 1;
}

// ---- tsbpf -----------------------------------------------------------------

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newestMtime(p));
    else if (/\.(ts|o)$/.test(e.name)) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

export interface TsbpfBinary {
  cmd: string;
  prefix: string[];
  /** How it was obtained, for the results. */
  how: string;
  /** The command line as a user would type it. */
  shown: string;
  sizeBytes?: number;
}

/**
 * Another build of tsbpf named by `--baseline PATH` on a bench's command line (an A/B
 * within one run: e.g. the binary of main's last commit, built in a second worktree),
 * or undefined when the flag is absent. Exits with a message when PATH does not run.
 */
export function baselineTsbpf(argv: string[] = process.argv): TsbpfBinary | undefined {
  const i = argv.indexOf("--baseline");
  if (i === -1) return undefined;
  const path = argv[i + 1];
  if (!path || !existsSync(path) || spawnSync(path, ["--version"], { timeout: 30_000 }).status !== 0) {
    console.error(`--baseline: ${path ?? "(missing)"} is not a tsbpf binary that runs`);
    process.exit(2);
  }
  return { cmd: path, prefix: [], how: `\`${path}\``, shown: path, sizeBytes: statSync(path).size };
}

/**
 * The single binary dist/tsbpf, rebuilt with `npm run build` when missing or older
 * than src/ or bpf/*.o. If the build fails the benches fall back to
 * `node --import tsx src/cli.ts` and say so.
 */
export function ensureTsbpf(log: (s: string) => void): TsbpfBinary {
  const bin = join(ROOT, "dist", "tsbpf");
  const newest = Math.max(newestMtime(join(ROOT, "src")), newestMtime(join(ROOT, "bpf")));
  const built = (how: string): TsbpfBinary => ({
    cmd: bin,
    prefix: [],
    how,
    shown: "dist/tsbpf",
    sizeBytes: statSync(bin).size,
  });
  if (existsSync(bin) && statSync(bin).mtimeMs >= newest) return built("`dist/tsbpf` (npm run build)");
  let why = "";
  // Other engineers build dist/tsbpf too; a concurrent build can make ours fail
  // (ETXTBSY while the other one writes the file), so try twice.
  for (let attempt = 1; attempt <= 2; attempt++) {
    log(`building dist/tsbpf (npm run build)${attempt > 1 ? ", second attempt" : ""}...`);
    const r = spawnSync("npm", ["run", "build"], { cwd: ROOT, encoding: "utf8" });
    if (r.status === 0) return built("`dist/tsbpf` (npm run build)");
    why = (r.stderr || r.stdout).trim().split("\n").pop() ?? "";
    log(`npm run build failed: ${why}`);
    spawnSync("sleep", ["3"]);
  }
  if (existsSync(bin) && spawnSync(bin, ["--version"], { timeout: 10_000 }).status === 0) {
    return built(`\`dist/tsbpf\` built before the latest sources (npm run build failed: ${why})`);
  }
  log("using node --import tsx src/cli.ts");
  return {
    cmd: process.execPath,
    prefix: ["--import", "tsx", join(ROOT, "src", "cli.ts")],
    how: `\`node --import tsx src/cli.ts\` (npm run build failed: ${why})`,
    shown: "node --import tsx src/cli.ts",
  };
}

/**
 * tsbpf as a tracer of the benches. `id`/`label` name another build of it (the
 * `--baseline PATH` row of an A/B run); its output file is named after the id.
 */
export function tsbpfTracer(bin: TsbpfBinary, id = "tsbpf", label = id): Tracer {
  return {
    id,
    label,
    covers: ["fork", "exec", "exit"],
    missing: () => (existsSync(bin.cmd) ? undefined : `${bin.cmd} not found`),
    procs: (dir) => [
      {
        name: id,
        cmd: bin.cmd,
        args: [...bin.prefix, "trace", "--json", "-o", join(dir, `${id}.ndjson`)],
        // A crash then leaves its stack trace in the session's stderr file.
        env: { TSBPF_DEBUG: "1" },
        out: join(dir, `${id}.ndjson`),
        viaStdout: false,
        ready: (line, tag) => line.includes(tag),
        parse: parseTsbpf,
      },
    ],
  };
}

function parseTsbpf(text: string): Rec[] {
  const out: Rec[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    let ev: Record<string, unknown>;
    try {
      ev = JSON.parse(line);
    } catch {
      continue; // a line cut by SIGKILL; counted as not reported
    }
    switch (ev.event) {
      case "fork":
        if (!ev.thread) out.push({ kind: "fork", parent: ev.pid as number });
        break;
      case "exec": {
        const argv = ev.argv as string[];
        out.push({
          kind: "exec",
          parent: ev.ppid as number,
          argvBytes: argv.reduce((n, a) => n + bytesOf(a), 0),
        });
        break;
      }
      case "exit":
        if (!ev.thread) out.push({ kind: "exit", parent: ev.ppid as number });
        break;
      case "lost":
        out.push({ kind: "lost", parent: 0, lost: ev.count as number });
        break;
    }
  }
  return out;
}

// ---- libbpf-tools execsnoop + exitsnoop ------------------------------------

// execsnoop: "PCOMM PID PPID RET ARGS", args space-joined, " ..." appended when
// --max-args (default 20) cut them.
const EXECSNOOP_LINE = /^(\S+)\s+(\d+)\s+(\d+)\s+(-?\d+)\s(.*)$/;
// exitsnoop: "PCOMM PID PPID TID AGE(s) EXIT_CODE"
const EXITSNOOP_LINE = /^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+(.*)$/;

function parseExecsnoop(text: string): Rec[] {
  const out: Rec[] = [];
  for (const line of text.split("\n")) {
    const m = EXECSNOOP_LINE.exec(line);
    if (!m) continue;
    const args = (m[5] as string).replace(/ \.\.\.$/, "").trimEnd();
    out.push({ kind: "exec", parent: Number(m[3]), argvBytes: bytesOf(args) });
  }
  return out;
}

function parseExitsnoop(text: string): Rec[] {
  const out: Rec[] = [];
  for (const line of text.split("\n")) {
    const m = EXITSNOOP_LINE.exec(line);
    if (m) out.push({ kind: "exit", parent: Number(m[3]) });
  }
  return out;
}

function exitReady(parse: (t: string) => Rec[]) {
  return (line: string, _tag: string, markerPid: number) => parse(line).some((r) => r.parent === markerPid);
}

export function libbpfTools(): Tracer {
  return {
    id: "libbpf-tools",
    label: "execsnoop+exitsnoop",
    covers: ["exec", "exit"],
    missing: () =>
      which("execsnoop") && which("exitsnoop") ? undefined : "execsnoop/exitsnoop not installed",
    procs: (dir) => [
      {
        name: "execsnoop",
        cmd: "stdbuf",
        args: ["-oL", "execsnoop"],
        out: join(dir, "execsnoop.txt"),
        viaStdout: true,
        ready: (line, tag) => line.includes(tag),
        parse: parseExecsnoop,
      },
      {
        name: "exitsnoop",
        cmd: "stdbuf",
        args: ["-oL", "exitsnoop"],
        out: join(dir, "exitsnoop.txt"),
        viaStdout: true,
        ready: exitReady(parseExitsnoop),
        parse: parseExitsnoop,
      },
    ],
  };
}

/**
 * The tracers of an A/B run: tsbpf, execsnoop+exitsnoop, and the `--baseline` build of
 * tsbpf when there is one (cmp.tracers then reads [ours, peer, baseline]).
 */
export function abTracers(bin: TsbpfBinary, baseline: TsbpfBinary | undefined): Tracer[] {
  return [
    tsbpfTracer(bin),
    libbpfTools(),
    ...(baseline ? [tsbpfTracer(baseline, "baseline", "tsbpf baseline")] : []),
  ];
}

/** execsnoop alone: the start-up reference of issue 7. */
export function execsnoopOnly(): Tracer {
  const both = libbpfTools();
  return {
    id: "execsnoop",
    label: "execsnoop",
    covers: ["exec"],
    missing: () => (which("execsnoop") ? undefined : "execsnoop not installed"),
    procs: (dir) => both.procs(dir).slice(0, 1),
  };
}

// ---- bpftrace ---------------------------------------------------------------

// An execsnoop-style script: argv at execve entry, process exits (pid == tid: the
// group leader, i.e. the process) with the current parent's tgid.
export const BPFTRACE_SCRIPT = `tracepoint:syscalls:sys_enter_execve {
  printf("E %d %d ", pid, curtask->real_parent->tgid); join(args->argv);
}
tracepoint:sched:sched_process_exit /pid == tid/ {
  printf("X %d %d %s\\n", pid, curtask->real_parent->tgid, comm);
}
`;

function parseBpftrace(text: string): Rec[] {
  const out: Rec[] = [];
  for (const line of text.split("\n")) {
    const m = /^([EX]) (\d+) (\d+) (.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === "E") out.push({ kind: "exec", parent: Number(m[3]), argvBytes: bytesOf(m[4] as string) });
    else out.push({ kind: "exit", parent: Number(m[3]) });
  }
  return out;
}

export function bpftraceTracer(): Tracer {
  const script = join(OUT_DIR, "execsnoop.bt");
  return {
    id: "bpftrace",
    label: "bpftrace (execsnoop-style script)",
    covers: ["exec", "exit"],
    missing: () => (which("bpftrace") ? undefined : "bpftrace not installed"),
    procs: (dir) => {
      writeFileSync(script, BPFTRACE_SCRIPT);
      return [
        {
          name: "bpftrace",
          cmd: "bpftrace",
          args: [script],
          out: join(dir, "bpftrace.txt"),
          viaStdout: true,
          ready: (line, tag) => line.includes(tag),
          parse: parseBpftrace,
        },
      ];
    },
  };
}

// ---- BCC (bpfcc-tools) ------------------------------------------------------

export function bccTools(): Tracer {
  return {
    id: "bcc",
    label: "BCC execsnoop-bpfcc+exitsnoop-bpfcc",
    covers: ["exec", "exit"],
    missing: () =>
      which("execsnoop-bpfcc") && which("exitsnoop-bpfcc") ? undefined : "bpfcc-tools not installed",
    // Same column layouts as the libbpf-tools ports.
    procs: (dir) => [
      {
        name: "execsnoop-bpfcc",
        cmd: "execsnoop-bpfcc",
        args: [],
        out: join(dir, "execsnoop-bpfcc.txt"),
        viaStdout: true,
        ready: (line, tag) => line.includes(tag),
        parse: parseExecsnoop,
      },
      {
        name: "exitsnoop-bpfcc",
        cmd: "exitsnoop-bpfcc",
        args: [],
        out: join(dir, "exitsnoop-bpfcc.txt"),
        viaStdout: true,
        ready: exitReady(parseExitsnoop),
        parse: parseExitsnoop,
      },
    ],
  };
}

/** Installs the Debian packages of missing peers (`apt-get install -y ...`). */
export function ensurePeers(log: (s: string) => void): void {
  const need: string[] = [];
  if (!which("execsnoop") || !which("exitsnoop")) need.push("libbpf-tools");
  if (!which("bpftrace")) need.push("bpftrace");
  if (!which("execsnoop-bpfcc")) need.push("bpfcc-tools");
  if (!which("stdbuf")) need.push("coreutils");
  if (need.length === 0) return;
  log(`installing peers: apt-get install -y ${need.join(" ")}`);
  const r = spawnSync("apt-get", ["install", "-y", ...need], { encoding: "utf8", stdio: "pipe" });
  if (r.status !== 0) log(`apt-get failed (status ${r.status}); missing peers are reported as such`);
}

export function rel(p: string): string {
  return relative(ROOT, p) || ".";
}
