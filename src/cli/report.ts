// `tsbpf report`: draw a recorded trace (NDJSON from `tsbpf trace --json`) as one
// self-contained HTML timeline, and/or export it for ui.perfetto.dev.
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { TsbpfError, UsageError } from "../errors.ts";
import { renderHtml } from "../report/html.ts";
import { buildTrace, type Trace } from "../report/model.ts";
import { parseNdjson } from "../report/parse.ts";
import { toTraceEvents } from "../report/perfetto.ts";
import { VERSION } from "../version.ts";
import { parseCommandArgs } from "./args.ts";
import type { Command } from "./command.ts";

const help = `Usage: tsbpf report FILE.ndjson [-o report.html] [--perfetto trace.json]

Draw a trace recorded with 'tsbpf trace --json -o FILE.ndjson' (FILE '-' reads stdin).

  -o, --output FILE     one self-contained HTML page (no network needed to open it):
                        a timeline of every process under its parent, coloured by
                        outcome, with zoom/pan, collapse, argv search, alerts and lost
                        events on the time axis, and a summary with the failed and
                        slowest processes and the critical path
      --perfetto FILE   Chrome Trace Event JSON that ui.perfetto.dev and
                        chrome://tracing open: a track per process, exec and exit
                        as slices, fork as flow arrows, alerts as instant events
  -h, --help            show this help

'tsbpf trace --html FILE -- CMD' records and draws in one step.

Examples:
  tsbpf trace --json -o build.ndjson -- make -j8
  tsbpf report build.ndjson -o build.html --perfetto build.json`;

/** Writes via a temporary file and rename: a failure never leaves half a report behind. */
export function writeOutput(path: string, text: string, what: string): void {
  const tmp = `${path}.tsbpf-${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text, { mode: 0o644 });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new TsbpfError(`cannot write ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
}

/** trace --html: the recorded NDJSON lines drawn into `path`. */
export function writeHtmlReport(lines: string[], path: string): void {
  const trace = buildTrace(parseNdjson(lines.join("\n"), "trace"));
  writeOutput(path, renderHtml(trace, { source: "tsbpf trace", generator: `tsbpf ${VERSION}` }), "report");
}

export function perfettoJson(trace: Trace): string {
  return JSON.stringify(toTraceEvents(trace));
}

/** The parser's options (also what the man page and completions list). */
const OPTIONS = {
  output: { type: "string", short: "o" },
  perfetto: { type: "string" },
} as const;

const report: Command = {
  name: "report",
  summary: "draw a recorded trace as an HTML timeline or Perfetto JSON",
  help,
  spec: OPTIONS,
  async run(args) {
    const { values: v, positionals } = parseCommandArgs("report", args, OPTIONS);
    if (positionals.length !== 1)
      throw new UsageError(
        `report: expected one trace file (NDJSON from 'tsbpf trace --json'), got ${positionals.length}`,
      );
    if (v.output === undefined && v.perfetto === undefined)
      throw new UsageError("report: nothing to write: give -o FILE.html and/or --perfetto FILE.json");
    const input = positionals[0] as string;
    let text: string;
    try {
      text = readFileSync(input === "-" ? 0 : input, "utf8");
    } catch (e) {
      throw new TsbpfError(`report: cannot read ${input}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
    const source = input === "-" ? "stdin" : input;
    const trace = buildTrace(parseNdjson(text, source));
    if (v.output !== undefined)
      writeOutput(v.output, renderHtml(trace, { source, generator: `tsbpf ${VERSION}` }), "report");
    if (v.perfetto !== undefined) writeOutput(v.perfetto, perfettoJson(trace), "Perfetto trace");
    return 0;
  },
};

export default report;
