// `tsbpf trace --nats` against a real 3-node JetStream cluster (Debian's nats-server,
// on loopback), with two tracers as two hosts. Mid-run one node is killed and later
// the whole cluster, for a few seconds each, then restarted. At the end the stream
// must hold every event each tracer wrote to its own -o file, exactly once and in
// order per host; `tsbpf fleet` must show the same.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadNats } from "../../src/export/nats-client.ts";
import { CLI } from "../helpers/cli.ts";
import { inCI, privileged, ROOT_DIR } from "../helpers/env.ts";
import { freePort, have, Proc, sleep, until } from "./servers.ts";

const ok = privileged("tsbpf trace --nats with a NATS cluster");
if (ok && !have("nats-server") && inCI)
  throw new Error("nats-server is not installed (scripts/setup.sh installs it)");

interface Node {
  name: string;
  conf: string;
  port: number;
  proc?: Proc;
}

async function cluster(dir: string): Promise<Node[]> {
  const nodes: Node[] = [];
  const routes: number[] = [];
  for (let i = 1; i <= 3; i++) {
    nodes.push({ name: `n${i}`, conf: join(dir, `n${i}.conf`), port: await freePort() });
    routes.push(await freePort());
  }
  nodes.forEach((n, i) => {
    mkdirSync(join(dir, n.name), { recursive: true });
    writeFileSync(
      n.conf,
      [
        `server_name: ${n.name}`,
        `listen: 127.0.0.1:${n.port}`,
        `jetstream { store_dir: "${join(dir, n.name)}", max_file_store: 1G, max_memory_store: 64M }`,
        "cluster {",
        "  name: tsbpf-export-test",
        `  listen: 127.0.0.1:${routes[i]}`,
        `  routes: [${routes.map((r) => `nats-route://127.0.0.1:${r}`).join(", ")}]`,
        "}",
        "",
      ].join("\n"),
    );
  });
  return nodes;
}

const start = (n: Node) => {
  n.proc = new Proc("nats-server", ["-c", n.conf]);
};

/** Every message of the stream, in stream order: the lines of each body. */
async function streamLines(url: string): Promise<string[]> {
  const { transport, jetstream } = await loadNats();
  const nc = await transport.connect({ servers: url });
  try {
    const jsm = await jetstream.jetstreamManager(nc);
    const info = await jsm.streams.info("TSBPF");
    const total = info.state.messages;
    const js = jetstream.jetstream(nc);
    const c = await js.consumers.get("TSBPF");
    const lines: string[] = [];
    let got = 0;
    while (got < total) {
      const batch = await c.fetch({ max_messages: 500, expires: 3000 });
      for await (const m of batch) {
        got++;
        lines.push(...new TextDecoder().decode(m.data).split("\n").filter(Boolean));
      }
    }
    return lines;
  } finally {
    await nc.close();
  }
}

test("two hosts publish through a node kill and a whole-cluster outage: every event once, in order per host", async () => {
  if (!ok || !have("nats-server")) return;
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-export-nats-"));
  const nodes = await cluster(dir);
  const url = nodes.map((n) => `nats://127.0.0.1:${n.port}`).join(",");
  const tracers: Proc[] = [];
  const t0 = Date.now();
  try {
    for (const n of nodes) start(n);
    // JetStream is usable once the cluster has a meta leader.
    const { transport, jetstream } = await loadNats();
    await until(
      "the JetStream cluster",
      async () => {
        const nc = await transport.connect({ servers: url, timeout: 1000 });
        try {
          await (await jetstream.jetstreamManager(nc)).getAccountInfo();
          return true;
        } finally {
          await nc.close();
        }
      },
      60_000,
    );
    // A few execs a second on each host until the test creates `stop` (after the outage).
    const stopFile = join(dir, "stop");
    const workload = `while [ ! -e ${stopFile} ]; do /bin/true; sleep 0.1; done`;
    for (const host of ["host-a", "host-b"]) {
      tracers.push(
        new Proc(
          process.execPath,
          [
            ...CLI,
            "trace",
            "--json",
            "-o",
            join(dir, `${host}.ndjson`),
            "--nats",
            url,
            "--host",
            host,
            "--nats-replicas",
            "3",
            "--nats-spool",
            join(dir, `spool-${host}`),
            "--",
            "sh",
            "-c",
            workload,
          ],
          { cwd: ROOT_DIR },
        ),
      );
    }
    // Both publishing, then one node down for 3 s, then the whole cluster for 4 s.
    await until(
      "both tracers to write events",
      () =>
        ["host-a", "host-b"].every((h) => {
          try {
            return readFileSync(join(dir, `${h}.ndjson`), "utf8").length > 0;
          } catch {
            return false;
          }
        })
          ? true
          : undefined,
      120_000,
    );
    await sleep(2000);
    await nodes[1]?.proc?.stop("SIGKILL");
    await sleep(3000);
    start(nodes[1] as Node);
    await sleep(4000);
    for (const n of nodes) await n.proc?.stop("SIGKILL");
    const outage = Date.now();
    await sleep(4000);
    for (const n of nodes) start(n);
    // Events keep coming for a while once the cluster is back; then the workloads end.
    await until(
      "the JetStream cluster after the restart",
      async () => {
        const nc = await transport.connect({ servers: url, timeout: 1000 });
        try {
          await (await jetstream.jetstreamManager(nc)).streams.info("TSBPF");
          return true;
        } finally {
          await nc.close();
        }
      },
      60_000,
    );
    await sleep(3000);
    writeFileSync(stopFile, "");
    const codes = await Promise.all(tracers.map((t) => t.done));
    const tracerOut = tracers.map((t) => t.out).join("\n");
    writeFileSync(join(dir, "tracers.out"), tracerOut);
    assert.equal(codes, [0, 0], tracerOut);
    assert.ok(Date.now() - outage > 6000, "the tracers were still running after the outage");

    const lines = await streamLines(url);
    const byHost = new Map<string, Record<string, unknown>[]>();
    for (const l of lines) {
      const ev = JSON.parse(l) as Record<string, unknown>;
      const h = String(ev.host);
      if (!byHost.has(h)) byHost.set(h, []);
      byHost.get(h)?.push(ev);
    }
    assert.equal([...byHost.keys()].sort(), ["host-a", "host-b"]);
    for (const host of ["host-a", "host-b"]) {
      const got = byHost.get(host) ?? [];
      const want = readFileSync(join(dir, `${host}.ndjson`), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      // In order, exactly once: seq runs 1, 2, 3 … with one tracer run per host.
      const runs = new Set(got.map((e) => e.run));
      assert.is(runs.size, 1, `${host}: one tracer run`);
      got.forEach((e, i) => {
        if (e.seq !== i + 1) assert.unreachable(`${host}: stream position ${i} holds seq ${e.seq}`);
      });
      assert.is(
        got.length,
        want.length,
        `${host}: ${got.length} events in the stream, ${want.length} written`,
      );
      got.forEach((e, i) => {
        const { host: _h, run: _r, seq: _s, ...ev } = e;
        assert.equal(ev, want[i], `${host} event ${i + 1}`);
      });
      // Nothing left behind in the spool.
      const spool = readdirSync(join(dir, `spool-${host}`)).filter((f) => f.startsWith("seg-"));
      assert.equal(spool, [], `${host}: spool emptied`);
      assert.ok(want.length > 300, `${host}: ${want.length} events`);
    }
    console.log(`  ${lines.length} events in the stream, test ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    // tsbpf fleet over the same stream: the merged events, deduplicated, and per-host tables.
    const fleetJson = spawnSync(
      process.execPath,
      [...CLI, "fleet", "--nats", url, "--since", "1h", "--json"],
      {
        cwd: ROOT_DIR,
        encoding: "utf8",
        timeout: 120_000,
        // The merged stream is over spawnSync's 1 MiB default once a run has ~2,700
        // events: past it the output is cut short.
        maxBuffer: 256 * 1024 * 1024,
      },
    );
    assert.is(fleetJson.status, 0, fleetJson.stderr);
    assert.is(fleetJson.stdout.split("\n").filter(Boolean).length, lines.length);
    const fleetText = spawnSync(process.execPath, [...CLI, "fleet", "--nats", url, "--since", "1h"], {
      cwd: ROOT_DIR,
      encoding: "utf8",
      timeout: 120_000,
      maxBuffer: 256 * 1024 * 1024,
    });
    assert.is(fleetText.status, 0, fleetText.stderr);
    for (const host of ["host-a", "host-b"]) {
      const n = byHost.get(host)?.length ?? 0;
      assert.match(fleetText.stdout, new RegExp(`^${host}\\s+${n}\\s`, "m"));
      assert.match(fleetText.stdout, new RegExp(`=== ${host} ===`));
    }
    assert.match(fleetText.stdout, /Top commands:/);
    assert.match(fleetText.stdout, /^\s+\d+\s+true$/m, fleetText.stdout.slice(0, 3000));
  } finally {
    for (const t of tracers) await t.stop("SIGKILL");
    for (const n of nodes) await n.proc?.stop("SIGKILL");
    if (process.env.TSBPF_KEEP_TEST_DIR) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
