// The one NDJSON recording reader (src/tracker/recording.ts) behind both `tsbpf replay`
// (readRecording) and `tsbpf report` (parseNdjson): the same input gives the same events
// and the same errors, and only the torn-tail option tells them apart.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseNdjson, ReportInputError } from "../../src/report/parse.ts";
import { RecordingError, readNdjsonEvents } from "../../src/tracker/recording.ts";
import { readRecording } from "../../src/tracker/replay.ts";

const exec = (pid: number, t: string) =>
  JSON.stringify({ event: "exec", time: t, pid, ppid: 1, comm: "sh", argv: ["sh"], filename: "/bin/sh" });
const ok = [
  JSON.stringify({ schema: 2, tool: "tsbpf" }),
  "",
  exec(10, "2026-12-07T20:00:00.000001Z"),
  exec(11, "2026-12-07T20:00:00.000002Z"),
].join("\n");

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error");
}

test("replay and report read the same events from one recording", () => {
  const replayed = [...readRecording(ok, "r.ndjson")].map((e) => (e as { pid: number }).pid);
  const reported = parseNdjson(ok, "r.ndjson").map((e) => e.pid);
  assert.equal(replayed, [10, 11]);
  assert.equal(reported, [10, 11]);
});

test("one error type, the same message from both, naming source and line", () => {
  assert.is(ReportInputError, RecordingError);
  for (const [text, msg] of [
    [
      `${ok}\n{"event":"exec","pid":1}\n${exec(3, "2026-12-07T20:00:01Z")}`,
      /^r\.ndjson:5: exec event has no valid "time"$/,
    ],
    [`${ok}\n[1,2]\n`, /^r\.ndjson:5: expected a JSON object \(one event per line\)$/],
    [`{"schema":9}\n${ok}`, /^r\.ndjson:1: recorded with event schema 9; this tsbpf reads up to 2$/],
    [`${ok}\nnot json\n${exec(3, "2026-12-07T20:00:01Z")}`, /^r\.ndjson:5: not a JSON line \(/],
  ] as const) {
    const a = errorOf(() => [...readRecording(text, "r.ndjson")]);
    const b = errorOf(() => parseNdjson(text, "r.ndjson"));
    assert.instance(a, RecordingError);
    assert.instance(b, RecordingError);
    assert.match(a.message, msg);
    assert.is(a.message, b.message);
  }
});

test("a torn last line: replay (tolerateTornTail) drops it, report refuses it", () => {
  const torn = `${ok}\n{"event":"exec","time":"2026-12-07T20:0`;
  assert.is([...readRecording(torn, "t.ndjson")].length, 2);
  assert.match(errorOf(() => parseNdjson(torn, "t.ndjson")).message, /^t\.ndjson:5: not a JSON line/);
  // Only the last line may be torn; a whole last line without its newline is fine.
  assert.is([...readNdjsonEvents(`${ok}`, { source: "x" })].length, 2);
  const mid = `${ok}\n{"torn\n${exec(3, "2026-12-07T20:00:01Z")}\n`;
  assert.throws(
    () => [...readNdjsonEvents(mid, { source: "x", tolerateTornTail: true })],
    /x:5: not a JSON line/,
  );
});

test.run();
