// Child process of rotate-tail.test.ts: `tsbpf trace -o FILE --rotate-size SIZE`'s
// output path (EventWriter over RotatingFile) fed with synthetic exec events, each
// carrying its sequence number as argv[1] and a varying amount of padding, until
// TOTAL bytes were written. Prints "done <lines> <bytes> <rotations> <ms>".
import { parseTraceArgs } from "../../src/cli/trace-options.ts";
import { RotatingFile } from "../../src/export/rotate.ts";
import type { ExecEvent } from "../../src/tracker/events.ts";
import { EventWriter } from "../../src/tracker/output.ts";

const [path, size, keep, total] = process.argv.slice(2) as [string, string, string, string];
const cfg = parseTraceArgs(["--json", "-o", path, "--rotate-size", size, "--rotate-keep", keep]);
const file = new RotatingFile(path, { maxBytes: cfg.export.rotateSize, keep: cfg.export.rotateKeep });
const out = new EventWriter({ stream: file }, { format: "json", startedAt: Date.now() });
const limit = Number(total);
const pad = "x".repeat(4000);
const ev: ExecEvent = {
  event: "exec",
  time: "2026-12-07T17:00:00.000000Z",
  pid: 4242,
  tid: 4242,
  ppid: 1,
  uid: 0,
  gid: 0,
  comm: "true",
  exec_id: "4242-100",
  parent_exec_id: "1-1",
  cgroup_id: 1,
  pidns: 4026531836,
  ns_pid: 4242,
  filename: "/bin/true",
  argv: ["/bin/true", "0", ""],
  argc: 3,
  argv_truncated: false,
};
// A line's length: ~330 to ~4330 bytes, mostly short (as exec lines are); `base` is
// its length with an empty seq and padding (plain ASCII: JSON adds no escapes).
const base = Buffer.byteLength(JSON.stringify({ ...ev, argv: ["/bin/true", "", ""] })) + 1;
let bytes = 0;
let seq = 0;
const t0 = Date.now();
let x = 12345;
while (bytes < limit) {
  seq++;
  x = (x * 1103515245 + 12345) & 0x7fffffff;
  const r = x >>> 8;
  const n = r % 16 === 0 ? r % 4000 : r % 200;
  ev.argv[1] = String(seq);
  ev.argv[2] = pad.slice(0, n);
  out.write(ev);
  bytes += base + n + String(seq).length;
}
out.end();
const rotations = file.rotations;
console.log(`done ${seq} ${bytes} ${rotations} ${Date.now() - t0}`);
