// bench:export — events/s one tracer can hand to NATS JetStream (published and
// acknowledged) against its file output, both fed the same synthetic exec events in
// the same run. A local single-node nats-server with JetStream is started on a free
// loopback port (file storage in a temporary directory) and stopped at the end.
// Usage: npm run bench:export [-- --events N] (default 200000)
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { NatsPublisher } from "../src/export/nats-publish.ts";
import { RotatingFile } from "../src/export/rotate.ts";
import type { ExecEvent } from "../src/tracker/events.ts";
import { EventWriter } from "../src/tracker/output.ts";
import { appendResult, table } from "./lib.ts";

const arg = process.argv.indexOf("--events");
const N = arg > 0 ? Number(process.argv[arg + 1]) : 200_000;

const ev: ExecEvent = {
  event: "exec",
  time: "2026-12-07T17:00:00.000000Z",
  pid: 4242,
  tid: 4242,
  ppid: 1,
  uid: 1000,
  gid: 1000,
  comm: "gcc",
  exec_id: "4242-100",
  parent_exec_id: "1-1",
  cgroup_id: 1,
  pidns: 4026531836,
  ns_pid: 4242,
  filename: "/usr/bin/gcc",
  argv: ["gcc", "-O2", "-c", "src/file.c", "-o", "build/file.o"],
  argc: 6,
  argv_truncated: false,
};

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

async function fileRun(dir: string): Promise<number> {
  const file = new RotatingFile(join(dir, "events.ndjson"), { maxBytes: 100 * 1024 ** 2, keep: 2 });
  const out = new EventWriter({ stream: file }, { format: "json", startedAt: Date.now() });
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    ev.pid = i;
    out.write(ev);
    if ((i & 4095) === 0) out.flush();
  }
  out.end();
  return N / ((performance.now() - t0) / 1000);
}

async function natsRun(dir: string, url: string): Promise<number> {
  const pub = await NatsPublisher.start({
    servers: [url],
    subject: "tsbpf.events.bench",
    subjectTemplate: "tsbpf.events.{host}",
    host: "bench",
    run: "0123456789ab",
    spoolDir: join(dir, "spool"),
    drainTimeoutMs: 600_000,
  });
  const t0 = performance.now();
  // As the tracer hands them over: a drain's worth per event-loop turn.
  for (let i = 0; i < N; i++) {
    ev.pid = i;
    pub.write(ev);
    if ((i & 4095) === 4095) await new Promise((r) => setImmediate(r));
  }
  await pub.close();
  const secs = (performance.now() - t0) / 1000;
  if (pub.publishedEvents !== N) throw new Error(`published ${pub.publishedEvents} of ${N}`);
  return N / secs;
}

const dir = mkdtempSync(join(tmpdir(), "tsbpf-bench-export-"));
const port = await freePort();
writeFileSync(
  join(dir, "nats.conf"),
  `listen: 127.0.0.1:${port}\njetstream { store_dir: "${join(dir, "js")}" }\n`,
);
const server: ChildProcess = spawn("nats-server", ["-c", join(dir, "nats.conf")], { stdio: "ignore" });
try {
  await new Promise((r) => setTimeout(r, 1000));
  const url = `nats://127.0.0.1:${port}`;
  const rows: (string | number)[][] = [];
  const nats: number[] = [];
  const file: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    file.push(await fileRun(dir));
    nats.push(await natsRun(join(dir, `r${rep}`), url));
    rows.push([rep + 1, Math.round(nats[rep] as number), Math.round(file[rep] as number)]);
  }
  const best = (xs: number[]) => Math.max(...xs);
  const ratio = best(nats) / best(file);
  const body = [
    `load average ${loadavg()[0]?.toFixed(2)}; ${N} exec events per run (~${Buffer.byteLength(JSON.stringify(ev))} bytes each); local nats-server ${"2.9"} (JetStream, file storage, one node)`,
    "",
    table(["rep", "--nats events/s (acknowledged)", "-o file events/s"], rows),
    "",
    `best: --nats ${Math.round(best(nats))}/s, file ${Math.round(best(file))}/s, ratio=${ratio.toFixed(3)}`,
  ].join("\n");
  appendResult(
    "Export: NATS JetStream vs file output (bench/export.ts)",
    `npm run bench:export${arg > 0 ? ` -- --events ${N}` : ""}`,
    body,
  );
  console.log(body);
} finally {
  server.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
