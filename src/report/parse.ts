// NDJSON in: the `tsbpf trace --json` stream (docs/events.md) as plain records. Pure: the
// caller reads the file. Unknown event kinds and fields pass through untouched, so a newer
// tracer's stream still draws; a line that is not a JSON object is an error naming its line.
import { TsbpfError } from "../errors.ts";

/** One event line, as written by the tracer (snake_case fields, see docs/events.md). */
export type RawEvent = Record<string, unknown> & { event: string; time: string };

/** A trace file that cannot be read as the tracer's NDJSON. */
export class ReportInputError extends TsbpfError {}

/**
 * Splits and parses NDJSON text. `source` names the input in errors ("build.ndjson").
 * A last line without its newline is accepted when it parses (a trace cut short by a
 * kill still ends on a whole record); otherwise it is reported like any other line.
 */
export function parseNdjson(text: string, source: string): RawEvent[] {
  const out: RawEvent[] = [];
  let lineNo = 0;
  let at = 0;
  while (at < text.length) {
    let nl = text.indexOf("\n", at);
    if (nl === -1) nl = text.length;
    lineNo++;
    const line = text.slice(at, nl).trim();
    at = nl + 1;
    if (line === "") continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
      throw new ReportInputError(`${source}:${lineNo}: not a JSON line (${why})`);
    }
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      throw new ReportInputError(`${source}:${lineNo}: expected a JSON object (one event per line)`);
    }
    const ev = v as Record<string, unknown>;
    if (typeof ev.event !== "string") {
      // Header or metadata lines (a schema record, say) carry no "event": not ours to draw.
      continue;
    }
    if (typeof ev.time !== "string" || parseTimeUs(ev.time) === undefined) {
      throw new ReportInputError(`${source}:${lineNo}: ${ev.event} event has no valid "time"`);
    }
    out.push(ev as RawEvent);
  }
  return out;
}

const ISO = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/;

/**
 * ISO 8601 UTC ("2025-01-02T03:04:05.123456Z") → microseconds since the epoch. Date.parse
 * keeps only milliseconds; the tracer writes microseconds, so the fraction is read here.
 */
export function parseTimeUs(s: string): number | undefined {
  const m = ISO.exec(s);
  if (!m) return undefined;
  const sec = Date.parse(`${m[1]}Z`);
  if (Number.isNaN(sec)) return undefined;
  const frac = ((m[2] ?? "") + "000000").slice(0, 6);
  return sec * 1000 + Number(frac);
}
