// The epoll worker thread inside the single binary: the worker cannot require() koffi
// there, so it dlopens the addon file src/binary/koffi-sea.ts keeps open. Builds its own
// binary (into a temporary directory) and runs it ALONE, with a PATH that has no node.
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { privileged, ROOT_DIR } from "../helpers/env.ts";

const root = privileged("single-binary epoll worker tests");
const work = mkdtempSync(join(tmpdir(), "tsbpf-sea-worker-"));
const alone = join(work, "alone");
const bin = join(alone, "tsbpf");
const pathDir = join(work, "path");
mkdirSync(alone);
mkdirSync(pathDir);
symlinkSync("/bin/sh", join(pathDir, "sh"));

function show(r: SpawnSyncReturns<string>): string {
  return `status ${r.status} signal ${r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

function tsbpf(args: string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(bin, args, {
    cwd: alone,
    env: { PATH: pathDir, TMPDIR: work, ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
}

interface Ev {
  event: string;
  comm: string;
  argv?: string[];
  exit_code?: number;
}

function events(out: string): Ev[] {
  return out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Ev);
}

test("build the binary", () => {
  if (!root) return;
  const out = join(work, "dist");
  const r = spawnSync("npm", ["run", "build", "--", "--out", out], {
    cwd: ROOT_DIR,
    encoding: "utf8",
    timeout: 5 * 60_000,
  });
  assert.is(r.status, 0, show(r));
  copyFileSync(join(out, "tsbpf"), bin);
});

test("./tsbpf trace --json -- /bin/echo hi reports the exec and the exit", () => {
  if (!root) return;
  const r = tsbpf(["trace", "--json", "--", "/bin/echo", "hi"]);
  assert.is(r.status, 0, show(r));
  assert.match(r.stdout, /^hi$/m);
  const evs = events(r.stdout).filter((e) => e.comm === "echo");
  const exec = evs.find((e) => e.event === "exec");
  assert.ok(exec, show(r));
  assert.equal(exec?.argv, ["/bin/echo", "hi"]);
  assert.is(evs.find((e) => e.event === "exit")?.exit_code, 0, show(r));
});

test("the binary's reader waits in the epoll worker (koffi loaded from the kept addon fd)", () => {
  if (!root) return;
  // The child outlives the worker's start-up, so its exit event is delivered by a worker wakeup.
  // A trace session waits on libuv's pool by default (src/tracker/source.ts, `waiter`);
  // TSBPF_WAITER=worker asks for the worker, whose addon loading in the binary is tested here.
  const r = tsbpf(["trace", "--json", "--", "/bin/sh", "-c", "/bin/sleep 0.5; echo hi"], {
    TSBPF_DEBUG: "1",
    TSBPF_WAITER: "worker",
  });
  assert.is(r.status, 0, show(r));
  assert.match(
    r.stderr,
    /tsbpf: debug: epoll worker thread started \(koffi addon \/proc\/self\/fd\/\d+\)/,
    show(r),
  );
  assert.not.match(r.stderr, /unavailable/, show(r));
  const evs = events(r.stdout);
  assert.is(evs.find((e) => e.event === "exit" && e.comm === "sleep")?.exit_code, 0, show(r));
  assert.is(evs.find((e) => e.event === "exit" && e.comm === "sh")?.exit_code, 0, show(r));
});

test("clean up", () => {
  rmSync(work, { recursive: true, force: true });
});

test.run();
