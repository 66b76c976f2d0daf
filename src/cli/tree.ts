// `tsbpf tree`: the live process tree, read from /proc (no BPF needed).
import { UsageError } from "../errors.ts";
import { escapeJsonLine } from "../tracker/escape.ts";
import { ProcessTable } from "../tracker/process-table.ts";
import { seedFromProc } from "../tracker/procfs.ts";
import { renderTree, treeToJson } from "../tracker/tree.ts";
import { parseCommandArgs } from "./args.ts";
import type { Command } from "./command.ts";

const help = `Usage: tsbpf tree [options]

Print the live process tree, read from /proc. Arguments are shown with their
boundaries visible (quoted like a shell would) and every control or invisible
character escaped, so a hostile command line cannot garble the terminal.

Options:
  -p, --pid PID       show only PID and its descendants
  -w, --watch         redraw every interval until Ctrl+C: in place on a terminal (cut to
                      its rows), else one snapshot after another, each after a
                      '--- TIME' line
  -i, --interval S    seconds between redraws with --watch (default 2, minimum 0.1)
  -d, --depth N       show at most N levels below each root
      --kernel        include kernel threads (children of kthreadd, pid 2)
      --ascii         draw with ASCII (|- \`-) instead of Unicode box characters
      --json          print the tree as JSON (nested "children" arrays); with --watch,
                      one JSON document per line per refresh
  -h, --help          show this help

Examples:
  tsbpf tree --pid 1234
  tsbpf tree --watch --interval 0.5`;

function positiveNumber(flag: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min)
    throw new UsageError(`tree: ${flag} expects a number >= ${min}, got '${v}'`);
  return n;
}

function snapshot(opts: { pid?: number; kernel: boolean }): ProcessTable {
  const table = new ProcessTable({ maxEntries: 1 << 20 });
  seedFromProc(table);
  if (!opts.kernel && opts.pid === undefined) {
    // Kernel threads: kthreadd (pid 2) and its children.
    const k = table.get(2);
    if (k && k.ppid === 0 && k.argv.length === 0) {
      for (const d of table.descendantsOf(2)) table.remove(d.pid);
      table.remove(2);
    }
  }
  return table;
}

/**
 * A --watch frame on a terminal must fit its rows: a taller frame scrolls, so the
 * next clear (ED 2 clears only the visible screen) leaves the old frame's top in the
 * scrollback and the redraw no longer happens in place. Like watch(1), cut the frame
 * and say how much was cut. `rows - 1` lines, since the newline after the last line
 * moves the cursor one row further down.
 */
export function fitRows(text: string, rows: number | undefined): string {
  if (!rows || rows < 3) return text;
  const lines = text.split("\n");
  if (lines.length <= rows - 1) return text;
  const keep = rows - 2;
  return [...lines.slice(0, keep), `… ${lines.length - keep} more lines (narrow with --pid or --depth)`].join(
    "\n",
  );
}

/** The parser's options (also what the man page and completions list). */
const OPTIONS = {
  pid: { type: "string", short: "p" },
  watch: { type: "boolean", short: "w" },
  interval: { type: "string", short: "i" },
  depth: { type: "string", short: "d" },
  kernel: { type: "boolean" },
  ascii: { type: "boolean" },
  json: { type: "boolean" },
} as const;

const tree: Command = {
  name: "tree",
  summary: "print the live process tree",
  help,
  spec: OPTIONS,
  async run(args) {
    const { values, positionals } = parseCommandArgs("tree", args, OPTIONS);
    if (positionals.length)
      throw new UsageError(`tree: unexpected argument '${positionals[0]}' (see 'tsbpf tree --help')`);
    let pid: number | undefined;
    if (values.pid !== undefined) {
      if (!/^\d+$/.test(values.pid))
        throw new UsageError(`tree: --pid expects a process id, got '${values.pid}'`);
      pid = Number(values.pid);
    }
    const interval = positiveNumber("--interval", values.interval, 0.1) ?? 2;
    if (values.interval !== undefined && !values.watch)
      throw new UsageError("tree: --interval needs --watch");
    const depth = positiveNumber("--depth", values.depth, 0);
    const out = process.stdout;
    // A reader that goes away (`tsbpf tree --watch | head`) ends the pipeline, as for
    // `yes | head`: stop quietly. Node reports the EPIPE as an 'error' event on stdout,
    // which, unhandled, would crash with a stack trace.
    let stopWatching: ((code: number) => void) | undefined;
    out.on("error", (e: NodeJS.ErrnoException) => {
      const code = e.code === "EPIPE" ? 0 : 1;
      if (code) process.stderr.write(`tsbpf: tree: cannot write to stdout: ${e.code ?? e.message}\n`);
      process.exitCode = code;
      stopWatching?.(code);
    });
    const color = out.isTTY === true && !process.env.NO_COLOR;

    const draw = (): boolean => {
      const table = snapshot({ pid, kernel: values.kernel === true });
      if (pid !== undefined && !table.has(pid)) return false;
      if (values.json) {
        out.write(`${escapeJsonLine(treeToJson(table, pid))}\n`);
        return true;
      }
      const text = renderTree(table, {
        root: pid,
        color,
        maxDepth: depth,
        width: out.isTTY ? out.columns : undefined,
        charset: values.ascii ? "ascii" : "unicode",
      });
      // One write per frame: cursor home + clear screen, then the frame, so the
      // terminal never shows a half-drawn tree.
      if (values.watch && out.isTTY) out.write(`\x1b[H\x1b[2J${fitRows(text, out.rows)}\n`);
      else if (values.watch) out.write(`--- ${new Date().toISOString()}\n${text}\n`);
      else out.write(`${text}\n`);
      return true;
    };

    if (!draw()) {
      process.stderr.write(`tsbpf: tree: no process with pid ${pid} (is it still running?)\n`);
      return 1;
    }
    if (!values.watch) return 0;
    return await new Promise<number>((resolve) => {
      const timer = setInterval(() => {
        if (!draw()) {
          process.stderr.write(`tsbpf: tree: process ${pid} exited\n`);
          stop(0);
        }
      }, interval * 1000);
      const stop = (code = 0) => {
        clearInterval(timer);
        process.off("SIGINT", onSigint);
        stopWatching = undefined;
        resolve(code);
      };
      const onSigint = () => stop(0);
      stopWatching = stop;
      process.on("SIGINT", onSigint);
    });
  },
};

export default tree;
