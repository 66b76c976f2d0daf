// What a person sees on a real terminal: `tsbpf trace` and `tsbpf tree` run under a
// pseudo-terminal (util-linux `script`), so stdout is a TTY with a known size, and
// Ctrl+C is a real ^C byte typed into the pty (the line discipline turns it into
// SIGINT for the foreground process group), not a signal aimed by hand.
import { type ChildProcess, spawn } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CLI, runCli } from "../helpers/cli.ts";
import { haveTool, privileged, ROOT_DIR } from "../helpers/env.ts";

const ok = privileged("tsbpf on a pseudo-terminal") && haveTool("script");

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const TSBPF = [process.execPath, ...CLI].map(sq).join(" ");
const SGR = /\x1b\[[0-9;]*m/;
const CLEAR = "\x1b[H\x1b[2J";
const strip = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r\n/g, "\n");

/** The test runner exports NO_COLOR=1; the user at a terminal usually has not. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: "xterm", ...extra };
  if (!("NO_COLOR" in extra)) delete env.NO_COLOR;
  delete env.FORCE_COLOR;
  return env;
}

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A shell command line run on a fresh pty of `cols` x `rows`. The shell prints its
 * pid first (PTY-SH=N), so a test can find what runs under it. `script -e` exits
 * with the command's status.
 */
class Pty {
  raw = "";
  readonly child: ChildProcess;
  readonly ended: Promise<Ended>;
  private waiters: (() => void)[] = [];

  constructor(cmdline: string, opts: { cols?: number; rows?: number; env?: NodeJS.ProcessEnv } = {}) {
    const inner = `stty cols ${opts.cols ?? 80} rows ${opts.rows ?? 24}; echo PTY-SH=$$; ${cmdline}`;
    this.child = spawn("script", ["-qfec", inner, "/dev/null"], {
      cwd: ROOT_DIR,
      env: opts.env ?? userEnv(),
      stdio: ["pipe", "pipe", "pipe"],
    });
    const grow = (b: Buffer) => {
      this.raw += b.toString("utf8");
      for (const w of this.waiters.splice(0)) w();
    };
    this.child.stdout?.on("data", grow);
    this.child.stderr?.on("data", grow);
    this.ended = new Promise((resolve) =>
      this.child.on("close", (code, signal) => {
        for (const w of this.waiters.splice(0)) w();
        resolve({ code, signal });
      }),
    );
  }

  /** Output so far, escape sequences removed, CRLF (the pty's onlcr) as LF. */
  get text(): string {
    return strip(this.raw);
  }

  /** Resolves once `pred(raw output)` holds; fails (and kills the pty) after `ms`. */
  async waitFor(what: string, pred: (raw: string) => boolean, ms = 90_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this.raw)) {
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        assert.unreachable(`${what}: the pty ended first\n--- output:\n${this.text}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        this.kill();
        assert.unreachable(`${what}: not seen within ${ms} ms\n--- output:\n${this.text}`);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 500));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Types into the terminal (^C is "\x03"). */
  type(s: string): void {
    this.child.stdin?.write(s);
  }

  /** The shell's pid, printed first thing. */
  get shellPid(): number {
    const m = /PTY-SH=(\d+)/.exec(this.raw);
    assert.ok(m, `no PTY-SH line in:\n${this.text}`);
    return Number(m?.[1]);
  }

  /** Ends within `ms` or is killed; either way the pty is gone afterwards. */
  async end(ms = 60_000): Promise<Ended & { timedOut: boolean }> {
    let timedOut = false;
    const t = setTimeout(() => {
      timedOut = true;
      this.kill();
    }, ms);
    const r = await this.ended;
    clearTimeout(t);
    this.child.stdin?.end();
    return { ...r, timedOut };
  }

  kill(): void {
    if (this.child.pid !== undefined) {
      try {
        // script's session: the shell and tsbpf die with the pty's hangup.
        process.kill(this.child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}

/** Display columns of a line as a terminal counts them (one per code point here). */
const cols = (line: string) => Array.from(line).length;

/** The tsbpf process running directly under the pty's shell (`tsbpf` not exec'd). */
async function childOf(shell: number, ms = 60_000): Promise<number> {
  const { readFileSync } = await import("node:fs");
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      const kids = readFileSync(`/proc/${shell}/task/${shell}/children`, "utf8").trim();
      if (kids) return Number(kids.split(/\s+/)[0]);
    } catch {
      // shell not there yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.unreachable(`no child of the pty shell ${shell} within ${ms} ms`);
  return 0;
}

const summaryTree = (text: string) => {
  const at = text.indexOf("Process tree (processes active during the trace):");
  assert.ok(at >= 0, `no summary tree in:\n${text}`);
  return text
    .slice(at)
    .split("\n")
    .slice(1)
    .filter((l) => l.trim() !== "" && !/^RC=/.test(l));
};

test("trace -- sh -c 'exit 3' on a TTY: coloured, 'exit 3', exit status 3", async () => {
  if (!ok) return;
  const p = new Pty(`exec ${TSBPF} trace -- sh -c 'exit 3'`);
  const r = await p.end(120_000);
  assert.is(r.timedOut, false, p.text);
  assert.is(r.code, 3, p.text);
  assert.match(p.raw, SGR, "SGR colour codes on a terminal");
  const exit = p.text.split("\n").find((l) => / exit +\d+ +\d+ +\d+ sh /.test(l));
  assert.ok(exit, `an exit line for sh in:\n${p.text}`);
  assert.match(exit as string, / exit 3 \(/, exit);
  assert.match(p.text, /=== Summary ===/);
  // "(exe /usr/bin/dash)" when sh is a link to another file: the real executable is
  // shown whenever it differs from argv[0].
  assert.match(
    p.text,
    /sh -c 'exit 3' (\(exe [^)]+\) )?\[exit 3, /,
    `the summary tree has the exit status too:\n${p.text}`,
  );
});

test("trace on a TTY with NO_COLOR=1, and through a pipe: no escape sequence at all", async () => {
  if (!ok) return;
  const p = new Pty(`exec ${TSBPF} trace -- sh -c 'exit 3'`, { env: userEnv({ NO_COLOR: "1" }) });
  const r = await p.end(120_000);
  assert.is(r.code, 3, p.text);
  assert.ok(!p.raw.includes("\x1b"), `NO_COLOR output has an ESC:\n${JSON.stringify(p.raw)}`);
  assert.match(p.text, / exit 3 \(/);

  const piped = runCli(["trace", "--", "sh", "-c", "exit 3"], { env: userEnv() });
  assert.is(piped.status, 3, piped.stderr);
  assert.ok(!piped.stdout.includes("\x1b"), `piped output has an ESC:\n${JSON.stringify(piped.stdout)}`);
  assert.match(piped.stdout, / exit 3 \(/);
});

test("trace, system-wide, on a TTY: one ^C prints the summary and the tree, exit 0", async () => {
  if (!ok) return;
  const p = new Pty(`exec ${TSBPF} trace`);
  // The header is printed once the programs are attached.
  await p.waitFor("the header", (raw) => /TIME +EVENT +PID/.test(strip(raw)));
  p.type("\x03");
  const r = await p.end(60_000);
  assert.is(r.timedOut, false, `one ^C did not end it:\n${p.text}`);
  assert.is(r.code, 0, p.text);
  assert.match(p.text, /=== Summary ===\nDuration|=== Summary ===\nEvents/);
  assert.match(p.text, /Process tree \(processes active during the trace\):/);
  assert.not.match(p.text, /internal error|\n\s+at /, "no stack trace");
});

test("trace on a TTY: two quick ^C end it promptly (0 or 130), no hang, no stack", async () => {
  if (!ok) return;
  const p = new Pty(`exec ${TSBPF} trace`);
  await p.waitFor("the header", (raw) => /TIME +EVENT +PID/.test(strip(raw)));
  p.type("\x03\x03");
  const t0 = Date.now();
  const r = await p.end(30_000);
  assert.is(r.timedOut, false, `two ^C did not end it within 30 s:\n${p.text}`);
  assert.ok(r.code === 0 || r.code === 130, `exit ${r.code}\n${p.text}`);
  assert.ok(Date.now() - t0 < 30_000);
  assert.not.match(p.text, /internal error|\n\s+at /, "no stack trace");
});

test("trace -- sleep 600 on a TTY: ^C reaches the command, tsbpf reports it and exits 130", async () => {
  if (!ok) return;
  const p = new Pty(`exec ${TSBPF} trace -- sleep 600`);
  await p.waitFor("sleep's exec", (raw) => / exec .* sleep 600/.test(strip(raw)));
  p.type("\x03");
  const r = await p.end(60_000);
  assert.is(r.timedOut, false, p.text);
  assert.is(r.code, 130, p.text);
  assert.match(p.text, /killed by SIGINT/);
  assert.match(p.text, /=== Summary ===/);
});

test("trace summary tree fits a 60-column terminal; event lines keep their columns", async () => {
  if (!ok) return;
  // The tree of a `-- CMD` trace starts at CMD: a child with a long argv gives it two
  // lines, one too long for 60 columns.
  const long = "a".repeat(80);
  const p = new Pty(`exec ${TSBPF} trace -- sh -c '/bin/echo ${long} >/dev/null; exit 3'`, { cols: 60 });
  const r = await p.end(120_000);
  assert.is(r.code, 3, p.text);
  const tree = summaryTree(p.text);
  assert.ok(tree.length >= 2, `the tree shows sh and its child:\n${tree.join("\n")}`);
  for (const l of tree) assert.ok(cols(l) <= 60, `tree line of ${cols(l)} columns:\n${l}`);
  // The long argv does not fit: cut with an ellipsis.
  assert.ok(
    tree.some((l) => l.endsWith("…")),
    `some long line was cut:\n${tree.join("\n")}`,
  );
});

test("tree on a 60-column TTY fits it; through a pipe lines are whole", async () => {
  if (!ok) return;
  const self = String(process.pid);
  const p = new Pty(`exec ${TSBPF} tree`, { cols: 60 });
  const r = await p.end(60_000);
  assert.is(r.code, 0, p.text);
  const lines = p.text.split("\n").filter((l) => l !== "" && !l.startsWith("PTY-SH="));
  for (const l of lines) assert.ok(cols(l) <= 60, `line of ${cols(l)} columns:\n${l}`);
  const mine = lines.find((l) => new RegExp(`(^|[ ─-])${self} `).test(l));
  assert.ok(mine?.endsWith("…"), `this test's own line, cut:\n${mine}`);

  const piped = runCli(["tree", "--pid", self], { env: userEnv() });
  assert.is(piped.status, 0, piped.stderr);
  assert.ok(piped.stdout.includes("test/tty/terminal.test.ts"), `whole argv in a pipe:\n${piped.stdout}`);
  assert.ok(!piped.stdout.includes("\x1b"));
});

test("tree --watch on a TTY: redraws in place, shows this test, ^C → exit 0, terminal sane", async () => {
  if (!ok) return;
  const self = String(process.pid);
  // Not exec'd: the shell records the terminal modes before and after, and only the
  // tsbpf process gets the SIGINT (aimed at its pid), so the shell goes on.
  const p = new Pty(
    `stty -g > /dev/null; B=$(stty -g); ${TSBPF} tree --watch --interval 0.3; echo RC=$?; A=$(stty -g); [ "$A" = "$B" ] && echo MODES-SAME`,
    { cols: 200, rows: 1000 },
  );
  await p.waitFor("three frames", (raw) => raw.split(CLEAR).length >= 4);
  const tsbpf = await childOf(p.shellPid);
  process.kill(tsbpf, "SIGINT");
  const r = await p.end(60_000);
  assert.is(r.timedOut, false, `SIGINT did not end --watch:\n${p.text.slice(-2000)}`);
  assert.is(r.code, 0);
  assert.match(p.text, /RC=0\n/, p.text.slice(-2000));
  assert.match(p.text, /MODES-SAME/, "terminal modes unchanged");
  const frames = p.raw.split(CLEAR).slice(1);
  assert.ok(frames.length >= 3);
  const first = strip(frames[0] as string);
  assert.ok(new RegExp(`(^|[ ─])${self} `, "m").test(first), `this test (pid ${self}) in:\n${first}`);
  // A hidden cursor must be shown again before the end.
  const hide = p.raw.lastIndexOf("\x1b[?25l");
  if (hide >= 0) assert.ok(p.raw.lastIndexOf("\x1b[?25h") > hide, "cursor shown again");
});

test("tree --watch on a 10-row TTY: each frame fits in 9 lines, the cut is said", async () => {
  if (!ok) return;
  const p = new Pty(`exec ${TSBPF} tree --watch --interval 0.3`, { cols: 80, rows: 10 });
  await p.waitFor("three frames", (raw) => raw.split(CLEAR).length >= 4);
  p.type("\x03");
  const r = await p.end(60_000);
  assert.is(r.code, 0, p.text.slice(-2000));
  const frames = p.raw.split(CLEAR).slice(1, -1);
  for (const f of frames) {
    const lines = strip(f).replace(/\n$/, "").split("\n");
    assert.ok(lines.length <= 9, `frame of ${lines.length} lines:\n${lines.join("\n")}`);
    assert.match(lines[lines.length - 1] as string, /^… \d+ more lines/);
  }
});

test("tree --watch through a pipe: successive '--- TIME' snapshots, SIGINT → exit 0", async () => {
  if (!ok) return;
  const child = spawn(process.execPath, [...CLI, "tree", "--watch", "--interval", "0.3"], {
    cwd: ROOT_DIR,
    env: userEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (b: Buffer) => {
    out += b.toString();
  });
  child.stderr.on("data", (b: Buffer) => {
    err += b.toString();
  });
  const ended = new Promise<number | null>((r) => child.on("close", (c) => r(c)));
  const deadline = Date.now() + 90_000;
  while ((out.match(/^--- \d{4}-\d\d-\d\dT/gm) ?? []).length < 3 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 200));
  child.kill("SIGINT");
  const t = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const code = await ended;
  clearTimeout(t);
  assert.ok((out.match(/^--- /gm) ?? []).length >= 3, `three snapshots:\n${out.slice(0, 2000)}\n${err}`);
  assert.is(code, 0, err);
  assert.ok(!out.includes("\x1b"), "no escape sequence into a pipe");
  assert.ok(out.includes(`${process.pid} `), "this test in the snapshots");
});

test("tree --watch | head -2: the closed pipe ends it quietly, exit 0", () => {
  if (!ok) return;
  const r = runCli(["tree", "--watch", "--interval", "0.2"], {
    prefix: ["bash", "-c", 'set -o pipefail; "$@" | head -2', "bash"],
    env: userEnv(),
    timeoutMs: 90_000,
  });
  assert.is(r.signal, null, "no hang");
  assert.is(r.status, 0, `tsbpf's status (pipefail)\n${r.stderr}`);
  assert.is(r.stderr, "", "no EPIPE stack trace");
  assert.is(r.stdout.split("\n").length, 3, r.stdout);
});

test.run();
