// Reading a recording back: the NDJSON that `tsbpf trace --json` writes (docs/events.md),
// turned into events again, so the summary, tree and alerts can be rebuilt from a file.
// The lines are read by src/tracker/recording.ts (shared with `tsbpf report`); kinds this
// version does not know are skipped, so a newer tracer's recording still replays.
import type { TraceEvent } from "./events.ts";
import { RecordingError, readNdjsonEvents } from "./recording.ts";

export { EVENTS_SCHEMA_VERSION, RecordingError } from "./recording.ts";

const KINDS = new Set(["fork", "exec", "exec_failed", "exit", "alert", "lost"]);

/**
 * The events of NDJSON `text`, in order. A torn last line (a trace killed mid-write) is
 * dropped. Fields a version-1 recording lacks (an exit's filename and argv) are filled
 * with "unknown" values for the caller to complete.
 */
export function* readRecording(text: string, source: string): Generator<TraceEvent> {
  for (const { event: ev, line } of readNdjsonEvents(text, { source, tolerateTornTail: true })) {
    if (!KINDS.has(ev.event)) continue;
    if (ev.event !== "lost" && (typeof ev.pid !== "number" || typeof ev.ppid !== "number"))
      throw new RecordingError(`${source}:${line}: ${ev.event} event has no numeric "pid" and "ppid"`);
    if (ev.event === "exec" && !Array.isArray(ev.argv))
      throw new RecordingError(`${source}:${line}: exec event has no "argv" array`);
    ev.comm ??= "";
    ev.exec_id ??= "";
    ev.parent_exec_id ??= "";
    if (ev.event === "exit") {
      ev.filename ??= "";
      ev.argv ??= [];
      ev.argv_truncated ??= false;
      ev.lifetime_ns ??= 0;
      ev.signal ??= null;
    }
    yield ev as unknown as TraceEvent;
  }
}
