// NDJSON in: the `tsbpf trace --json` stream (docs/events.md) as plain records, read by
// the recording reader `tsbpf replay` uses too (src/tracker/recording.ts). Unknown event
// kinds and fields pass through untouched, so a newer tracer's stream still draws.
import { type RecordedEvent, readNdjsonEvents } from "../tracker/recording.ts";

export {
  parseTimeUs,
  RecordingError,
  /** The reader's one error type, under the name this module has always exported. */
  RecordingError as ReportInputError,
} from "../tracker/recording.ts";

/** One event line, as written by the tracer (snake_case fields, see docs/events.md). */
export type RawEvent = RecordedEvent;

/**
 * Splits and parses NDJSON text. `source` names the input in errors ("build.ndjson").
 * Every line must be whole: a report drawn from a torn file would silently miss events.
 */
export function parseNdjson(text: string, source: string): RawEvent[] {
  const out: RawEvent[] = [];
  for (const { event } of readNdjsonEvents(text, { source })) out.push(event);
  return out;
}
