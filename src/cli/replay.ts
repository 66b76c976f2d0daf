// `tsbpf replay FILE.ndjson`: the summary, process tree and alerts of a recording made
// with `tsbpf trace --json`, rebuilt with the same filters as trace (--pid, --comm,
// --exit-failed, --alerts-only) and a time window.
import { readFileSync } from "node:fs";
import { TsbpfError, UsageError } from "../errors.ts";
import { loadRuleSet, RuleEvaluator } from "../tracker/alerts.ts";
import type { TraceEvent } from "../tracker/events.ts";
import { EventFilter } from "../tracker/filter.ts";
import { compileGlob, type Matcher } from "../tracker/glob.ts";
import { EventWriter } from "../tracker/output.ts";
import { ProcessTable } from "../tracker/process-table.ts";
import { readRecording } from "../tracker/replay.ts";
import { Summary } from "../tracker/summary.ts";
import { parseCommandArgs } from "./args.ts";
import type { Command } from "./command.ts";
import { parseDuration } from "./duration.ts";
import { type OptionTable, parserSpec, renderOptionsHelp } from "./options.ts";

export const REPLAY_OPTIONS: OptionTable = [
  { group: "Filters (as in trace)" },
  { name: "pid", short: "p", type: "string", arg: "PID", help: "only PID and its descendants" },
  {
    name: "comm",
    short: "c",
    type: "string",
    arg: "NAME",
    help: "only events whose comm matches NAME (glob)",
  },
  { name: "exit-failed", type: "boolean", help: "only failed exits, failed execs and alerts" },
  { name: "alerts-only", type: "boolean", help: "only alerts (and lost-event reports)" },
  {
    name: "since",
    type: "string",
    arg: "TIME",
    help: "only events at or after TIME: ISO 8601 (2026-01-02T03:04:05Z) or +DURATION from the first event (+10s)",
  },
  { name: "until", type: "string", arg: "TIME", help: "only events before TIME (same forms as --since)" },
  { group: "Rules" },
  {
    name: "rules",
    type: "string",
    arg: "FILE",
    complete: "file",
    help: "also evaluate these rules on each exec",
  },
  {
    name: "allowlist",
    type: "string",
    arg: "FILE",
    complete: "file",
    help: "also alert on executables not in this allowlist",
  },
  { group: "Output" },
  {
    name: "events",
    type: "boolean",
    help: "print the events that pass the filters (text), then the summary",
  },
  { name: "json", type: "boolean", help: "print the events that pass the filters as NDJSON, no summary" },
  { name: "no-summary", type: "boolean", help: "no summary (with --events)" },
];

const help = `Usage: tsbpf replay [options] FILE.ndjson

Rebuild the summary (counts, top commands, failed and slowest processes, alerts) and
the process tree of a trace recorded with 'tsbpf trace --json -o FILE.ndjson'
(FILE '-' reads stdin). Recorded alerts are kept; --rules/--allowlist add alerts
from rules evaluated now.

${renderOptionsHelp(REPLAY_OPTIONS)}

Examples:
  tsbpf trace --json -o build.ndjson -- make -j4
  tsbpf replay build.ndjson
  tsbpf replay --exit-failed --events build.ndjson
  tsbpf replay --comm 'cc*' --since +2s --until +10s build.ndjson`;

/** --since/--until: ISO 8601, or +DURATION after the recording's first event. */
function parseWhen(flag: string, v: string | undefined, first: number): number | undefined {
  if (v === undefined) return undefined;
  if (v.startsWith("+")) return first + parseDuration("replay", flag, v.slice(1));
  const t = Date.parse(v);
  if (!Number.isFinite(t))
    throw new UsageError(`replay: ${flag} expects an ISO 8601 time or +DURATION (e.g. +10s), got '${v}'`);
  return t;
}

const replay: Command = {
  name: "replay",
  summary: "rebuild the summary, tree and alerts of a recorded trace (NDJSON)",
  help,
  options: REPLAY_OPTIONS,
  async run(args) {
    const { values: v, positionals } = parseCommandArgs("replay", args, parserSpec(REPLAY_OPTIONS), true);
    const str = (k: string) => v[k] as string | undefined;
    if (positionals.length !== 1)
      throw new UsageError("replay: expected one recording (FILE.ndjson, or - for stdin)");
    const file = positionals[0] as string;
    let text: string;
    try {
      text = readFileSync(file === "-" ? 0 : file, "utf8");
    } catch (e) {
      throw new TsbpfError(`replay: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
    const events = [...readRecording(text, file === "-" ? "stdin" : file)];
    const first = events.length > 0 ? Date.parse((events[0] as TraceEvent).time) : 0;
    let pid: number | undefined;
    const p = str("pid");
    if (p !== undefined) {
      if (!/^\d+$/.test(p)) throw new UsageError(`replay: --pid expects a process id, got '${p}'`);
      pid = Number(p);
    }
    let comm: Matcher | undefined;
    const c = str("comm");
    if (c !== undefined) {
      try {
        comm = compileGlob(c, false);
      } catch (e) {
        throw new UsageError(`replay: --comm ${c}: ${(e as Error).message}`);
      }
    }
    const filter = new EventFilter({
      comm,
      pids: pid !== undefined ? [pid] : undefined,
      exitFailed: v["exit-failed"] === true,
      alertsOnly: v["alerts-only"] === true,
      since: parseWhen("--since", str("since"), first),
      until: parseWhen("--until", str("until"), first),
    });
    const userRules =
      str("rules") !== undefined || str("allowlist") !== undefined
        ? loadRuleSet({ builtin: false, rulesFile: str("rules"), allowlistFile: str("allowlist") })
        : [];

    // Nothing is pruned: the recording is finite, and its tree should be whole.
    const table = new ProcessTable({ maxEntries: 1 << 22, graceMs: Number.POSITIVE_INFINITY });
    const rules = new RuleEvaluator(userRules, table);
    const json = v.json === true;
    const showEvents = json || v.events === true;
    const out = new EventWriter(
      { fd: 1, name: "stdout" },
      {
        format: json ? "json" : "text",
        startedAt: first,
        header: showEvents && !json,
        color: !json && process.stdout.isTTY === true && !process.env.NO_COLOR,
      },
    );
    const summary =
      json || v["no-summary"] === true ? undefined : new Summary(table, { filtered: filter.active });
    const take = (ev: TraceEvent) => {
      if (!filter.pass(ev)) return;
      if (showEvents) out.write(ev);
      summary?.write(ev);
    };
    for (const ev of events) {
      table.apply(ev);
      // A recording from before exits carried argv: take it from the table.
      if (ev.event === "exit" && ev.argv.length === 0 && ev.filename === "") table.describeExit(ev);
      take(ev);
      const alerts = rules.check(ev);
      if (alerts) for (const a of alerts) take(a);
      if (out.broken) return 0;
    }
    if (summary) {
      const width = process.stdout.isTTY ? (process.stdout.columns ?? 120) : 0;
      out.line(
        summary
          .render(table, { width, root: pid, color: process.stdout.isTTY === true && !process.env.NO_COLOR })
          .replace(/^\n/, showEvents ? "\n" : ""),
      );
    }
    out.end();
    return 0;
  },
};

export default replay;
