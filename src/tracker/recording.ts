// The one reader of a recording: the NDJSON that `tsbpf trace --json` writes
// (docs/events.md), one event object per line. `tsbpf replay` (src/tracker/replay.ts)
// and `tsbpf report` (src/report/parse.ts) both read through it, so they accept and
// refuse the same files with the same messages. Pure: the caller reads the file.
//
// Lines without "event" are metadata (a header or schema record): skipped, but a schema
// newer than this reader is refused. Blank lines are skipped. Anything else that is not
// a JSON object with a valid "time" is an error naming the source and line.
import { TsbpfError } from "../errors.ts";

/** The highest docs/events.md schema version this reader understands. */
export const EVENTS_SCHEMA_VERSION = 2;

/** A recording that cannot be read; the message names the source and the line. */
export class RecordingError extends TsbpfError {}

/** One event line as written (snake_case fields, see docs/events.md). */
export type RecordedEvent = Record<string, unknown> & { event: string; time: string };

export interface ReadRecordingOptions {
  /** Names the input in errors ("build.ndjson", "stdin"). */
  source: string;
  /**
   * A last line that is not valid JSON is dropped instead of failing the read: a
   * recording cut short by a kill (or still being written) ends on a torn line.
   * Otherwise it is an error like any other line. A last line without its newline that
   * parses is always accepted.
   */
  tolerateTornTail?: boolean;
}

/** The event records of NDJSON `text`, in order, with their 1-based line numbers. */
export function* readNdjsonEvents(
  text: string,
  opts: ReadRecordingOptions,
): Generator<{ event: RecordedEvent; line: number }> {
  const { source } = opts;
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
      if (opts.tolerateTornTail && text.slice(at).trim() === "") return;
      const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
      throw new RecordingError(`${source}:${lineNo}: not a JSON line (${why})`);
    }
    if (v === null || typeof v !== "object" || Array.isArray(v))
      throw new RecordingError(`${source}:${lineNo}: expected a JSON object (one event per line)`);
    const ev = v as Record<string, unknown>;
    if (typeof ev.event !== "string") {
      const schema = ev.schema;
      if (typeof schema === "number" && schema > EVENTS_SCHEMA_VERSION)
        throw new RecordingError(
          `${source}:${lineNo}: recorded with event schema ${schema}; this tsbpf reads up to ${EVENTS_SCHEMA_VERSION}`,
        );
      continue;
    }
    if (typeof ev.time !== "string" || parseTimeUs(ev.time) === undefined)
      throw new RecordingError(`${source}:${lineNo}: ${ev.event} event has no valid "time"`);
    yield { event: ev as RecordedEvent, line: lineNo };
  }
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
  const frac = `${m[2] ?? ""}000000`.slice(0, 6);
  return sec * 1000 + Number(frac);
}
