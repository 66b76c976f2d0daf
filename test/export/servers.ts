// Real servers for the export tests, started on loopback and stopped in `finally`:
// Debian's prometheus and nats-server (installed by scripts/setup.sh).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

/** A port the OS says is free now (bound to 127.0.0.1:0, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export function have(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).status === 0;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until<T>(
  what: string,
  f: () => Promise<T | undefined> | T | undefined,
  ms = 60_000,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await sleep(200);
  }
}

export class Proc {
  readonly child: ChildProcess;
  out = "";
  readonly done: Promise<number | null>;

  constructor(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
    this.child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...opts });
    const keep = (d: Buffer) => {
      this.out = (this.out + d.toString()).slice(-20_000);
    };
    this.child.stdout?.on("data", keep);
    this.child.stderr?.on("data", keep);
    // "exit", not "close": a traced command can outlive a killed tracer and keep its
    // stdout and stderr open, and "close" waits for every holder of those pipes.
    this.done = new Promise((resolve) => this.child.on("exit", (code) => resolve(code)));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(sig: NodeJS.Signals = "SIGTERM", ms = 10_000): Promise<void> {
    if (!this.running) return;
    this.child.kill(sig);
    const t = setTimeout(() => this.child.kill("SIGKILL"), ms);
    await this.done;
    clearTimeout(t);
  }
}

/** Debian's prometheus scraping `target` every second, its HTTP API on a free loopback port. */
export async function startPrometheus(dir: string, target: string): Promise<{ proc: Proc; api: string }> {
  const port = await freePort();
  mkdirSync(join(dir, "data"), { recursive: true });
  const cfg = join(dir, "prometheus.yml");
  writeFileSync(
    cfg,
    [
      "global:",
      "  scrape_interval: 1s",
      "  scrape_timeout: 900ms",
      "scrape_configs:",
      "  - job_name: tsbpf",
      "    static_configs:",
      `      - targets: ['${target}']`,
      "",
    ].join("\n"),
  );
  const proc = new Proc("prometheus", [
    `--config.file=${cfg}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--log.level=warn",
  ]);
  const api = `http://127.0.0.1:${port}`;
  await until("prometheus to be ready", async () => {
    if (!proc.running) throw new Error(`prometheus exited:\n${proc.out}`);
    const r = await fetch(`${api}/-/ready`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
    return r?.ok ? true : undefined;
  });
  return { proc, api };
}

/** One instant vector query; the samples' values by their label sets. */
export async function promQuery(
  api: string,
  q: string,
): Promise<{ metric: Record<string, string>; value: number }[]> {
  const r = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`, {
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await r.json()) as {
    status: string;
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  if (body.status !== "success") throw new Error(`query ${q}: ${JSON.stringify(body)}`);
  return body.data.result.map((s) => ({ metric: s.metric, value: Number(s.value[1]) }));
}
