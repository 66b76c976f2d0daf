// SpoolQueue (src/export/spool.ts): order across memory, disk and restarts; the bound;
// and the NATS line format (src/export/nats-lines.ts) it carries.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { batchMessageId, countLines, LineEncoder, lineIdentity } from "../../src/export/nats-lines.ts";
import { SpoolQueue } from "../../src/export/spool.ts";
import { lostEvent } from "../../src/tracker/build.ts";
import type { ExecEvent } from "../../src/tracker/events.ts";

const root = mkdtempSync(join(tmpdir(), "tsbpf-export-spool-"));
let n = 0;
const dir = () => join(root, `s${++n}`);
const line = (i: number, len = 50) => Buffer.from(`${String(i).padStart(8, "0")}${"y".repeat(len - 9)}\n`);
const seqs = (b: Buffer) =>
  b
    .toString()
    .split("\n")
    .filter(Boolean)
    .map((l) => Number(l.slice(0, 8)));

/** Takes every batch out (acknowledging each) and returns the line numbers in order. */
function drainAll(q: SpoolQueue, batch = 1000): number[] {
  const out: number[] = [];
  for (let b = q.peek(batch); b; b = q.peek(batch)) {
    out.push(...seqs(b.bytes));
    q.ack();
  }
  return out;
}

test("memory only: batches in order, at most maxBytes (at least one line)", () => {
  const q = new SpoolQueue({ dir: dir(), memoryBytes: 10_000 });
  for (let i = 0; i < 100; i++) assert.ok(q.push(line(i)));
  const b = q.peek(500);
  assert.is(b?.bytes.length, 500);
  assert.is(q.peek(500), b, "the same batch until ack()");
  q.ack();
  assert.equal(
    drainAll(q),
    Array.from({ length: 90 }, (_, i) => i + 10),
  );
  assert.ok(q.empty);
});

test("spilled to disk while a memory batch is in flight: that batch stays first", () => {
  const d = dir();
  const q = new SpoolQueue({ dir: d, memoryBytes: 1000, segmentBytes: 2000 });
  for (let i = 0; i < 10; i++) q.push(line(i));
  const first = q.peek(200); // lines 0..3 in flight, from memory
  assert.equal(seqs(first?.bytes as Buffer), [0, 1, 2, 3]);
  for (let i = 10; i < 200; i++) q.push(line(i)); // spills, several segments
  assert.ok(readdirSync(d).some((f) => f.startsWith("seg-")));
  assert.ok(q.spooledBytes > 0);
  // The in-flight batch failed: retried as is.
  assert.equal(seqs(q.peek(200)?.bytes as Buffer), [0, 1, 2, 3]);
  q.ack();
  assert.equal(
    drainAll(q, 300),
    Array.from({ length: 196 }, (_, i) => i + 4),
  );
  assert.equal(readdirSync(d), []);
});

test("close() keeps what was not acknowledged; the next queue replays it in order, then new lines", () => {
  const d = dir();
  const q = new SpoolQueue({ dir: d, memoryBytes: 1000, segmentBytes: 1500 });
  for (let i = 0; i < 100; i++) q.push(line(i));
  q.peek(250);
  q.ack(); // 0..4 delivered
  q.peek(250); // 5..9 in flight when we stop
  q.close();
  const q2 = new SpoolQueue({ dir: d, memoryBytes: 1000 });
  for (let i = 100; i < 120; i++) q2.push(line(i));
  assert.equal(
    drainAll(q2, 333),
    Array.from({ length: 115 }, (_, i) => i + 5),
  );
});

test("the bound: a line that would pass maxBytes is refused, and accepted again once there is room", () => {
  const q = new SpoolQueue({ dir: dir(), maxBytes: 1000, memoryBytes: 400 });
  let accepted = 0;
  for (let i = 0; i < 30; i++) if (q.push(line(i))) accepted++;
  assert.is(accepted, 20);
  assert.is(q.pendingBytes, 1000);
  q.peek(500);
  q.ack();
  assert.ok(q.push(line(99)));
});

const exec: ExecEvent = {
  event: "exec",
  time: "2026-12-07T17:00:00.000001Z",
  pid: 10,
  ppid: 1,
  uid: 0,
  gid: 0,
  comm: "sh",
  exec_id: "10-5",
  parent_exec_id: "1-1",
  filename: "/bin/sh",
  argv: ["sh", "-c", 'echo "\u001b[31m"'],
  argc: 3,
  argv_truncated: false,
};

test("NATS lines: the NDJSON event plus host, run and seq last; identity and message id read back", () => {
  const enc = new LineEncoder("web-1", "0a1b2c3d4e5f");
  const a = enc.encode(exec, 41);
  const b = enc.encode(lostEvent("2026-12-07T17:00:00.000000Z", 3, "export:exec"), 42);
  for (const [buf, seq] of [
    [a, 41],
    [b, 42],
  ] as const) {
    assert.is(buf[buf.length - 1], 10);
    const obj = JSON.parse(buf.toString());
    assert.is(obj.host, "web-1");
    assert.is(obj.run, "0a1b2c3d4e5f");
    assert.is(obj.seq, seq);
    assert.equal(lineIdentity(buf, buf.length - 1), { host: "web-1", run: "0a1b2c3d4e5f", seq });
  }
  assert.equal(JSON.parse(a.toString()).argv, exec.argv);
  const batch = Buffer.concat([a, b]);
  assert.is(batchMessageId(batch), "web-1.0a1b2c3d4e5f.41-42");
  assert.is(batchMessageId(a), "web-1.0a1b2c3d4e5f.41-41");
  assert.is(countLines(batch), 2);
});

test.after(() => rmSync(root, { recursive: true, force: true }));
test.run();
