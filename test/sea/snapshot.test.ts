// The single binary's V8 start-up snapshot (scripts/build-sea.mjs): the bundle is
// evaluated and the embedded objects parsed at build time. Checks that a start uses the
// pre-parsed spec, that nothing from the build's environment is frozen into the binary
// (TSBPF_TIMING, TSBPF_FORCE_PERF are read at run time), and that --no-snapshot still
// builds a working binary. Each binary runs copied alone, with no node on PATH.
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { VERSION } from "../../src/version.ts";
import { privileged, ROOT_DIR } from "../helpers/env.ts";

const work = mkdtempSync(join(tmpdir(), "tsbpf-snap-"));
const pathDir = join(work, "path");
mkdirSync(pathDir);
symlinkSync("/bin/sh", join(pathDir, "sh"));
const BUILD_TIMEOUT = 5 * 60 * 1000;
const RUN_TIMEOUT = 60 * 1000;

function show(r: SpawnSyncReturns<string>): string {
  return `status ${r.status} signal ${r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

/** Builds into work/<name>/out (extra build args) and copies the binary alone into work/<name>/alone. */
function buildAlone(name: string, args: string[]): string {
  const out = join(work, name, "out");
  const r = spawnSync(process.execPath, [join(ROOT_DIR, "scripts/build-sea.mjs"), "--out", out, ...args], {
    cwd: ROOT_DIR,
    // The build's environment must not leak into the binary: set the variables the
    // binary reads at run time to values the runs below contradict.
    env: { ...process.env, TSBPF_TIMING: "1", TSBPF_FORCE_PERF: "1" },
    encoding: "utf8",
    timeout: BUILD_TIMEOUT,
  });
  assert.is(r.status, 0, show(r));
  const alone = join(work, name, "alone");
  mkdirSync(alone, { recursive: true });
  const bin = join(alone, "tsbpf");
  copyFileSync(join(out, "tsbpf"), bin);
  rmSync(out, { recursive: true, force: true });
  return bin;
}

function run(bin: string, args: string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(bin, args, {
    cwd: join(bin, ".."),
    env: { PATH: pathDir, TMPDIR: work, ...env },
    encoding: "utf8",
    timeout: RUN_TIMEOUT,
  });
}

let snap: string;
let plain: string;

test("the snapshot build and the --no-snapshot build both run", () => {
  snap = buildAlone("snap", []);
  plain = buildAlone("plain", ["--no-snapshot"]);
  for (const bin of [snap, plain]) {
    const v = run(bin, ["--version"]);
    assert.is(v.status, 0, show(v));
    assert.is(v.stdout.trim(), `tsbpf ${VERSION}`);
    // Build-time TSBPF_TIMING=1 is not frozen in: no timing lines without it.
    assert.not.match(v.stderr, "timing", show(v));
    const i = run(bin, ["inspect", "embedded:process.bpf.o"]);
    assert.is(i.status, 0, show(i));
    assert.match(i.stdout, "process.bpf.o: BPF object", show(i));
  }
});

test("an unknown command is a usage error (exit 2) from the snapshot too", () => {
  const r = run(snap, ["no-such-command"]);
  assert.is(r.status, 2, show(r));
  assert.match(r.stderr, "unknown command 'no-such-command'", show(r));
});

test("trace takes the pre-parsed spec in the snapshot binary, parses in the plain one", () => {
  if (!privileged("trace from the single binary")) return;
  for (const [bin, parsed] of [
    [snap, "ELF parsed (pre-parsed in the binary)"],
    [plain, "ELF parsed\n"],
  ] as const) {
    const r = run(bin, ["trace", "--json", "--", "/bin/echo", "snap-hi"], { TSBPF_TIMING: "1" });
    assert.is(r.status, 0, show(r));
    assert.match(r.stdout, "snap-hi", show(r));
    const exec = r.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { event: string; argv?: string[] })
      .find((e) => e.event === "exec");
    assert.equal(exec?.argv, ["/bin/echo", "snap-hi"], show(r));
    assert.match(r.stderr, parsed, show(r));
    // The build ran with TSBPF_FORCE_PERF=1; this run did not set it.
    assert.match(r.stderr, "object chosen: embedded:process.bpf.o", show(r));
  }
  // And the other embedded object is pre-parsed too.
  const p = run(snap, ["trace", "--json", "--", "/bin/true"], { TSBPF_TIMING: "1", TSBPF_FORCE_PERF: "1" });
  assert.is(p.status, 0, show(p));
  assert.match(p.stderr, "object chosen: embedded:process_perf.bpf.o", show(p));
  assert.match(p.stderr, "ELF parsed (pre-parsed in the binary)", show(p));
});

test("explain --no-load: the snapshot binary (CO-RE path warmed at build) reports what the source does", () => {
  // The warm-up (src/binary/snapshot-warmup.ts) resolved CO-RE against the build machine's
  // BTF; nothing of it may reach a run: same report, byte for byte, as from source.
  const obj = join(ROOT_DIR, "bpf", "process.bpf.o");
  const fromSource = spawnSync(
    process.execPath,
    ["--import", "tsx", join(ROOT_DIR, "src/cli.ts"), "explain", obj, "--no-load", "--json"],
    { cwd: ROOT_DIR, encoding: "utf8", timeout: RUN_TIMEOUT, maxBuffer: 64 << 20 },
  );
  assert.is(fromSource.status, 0, show(fromSource));
  for (const bin of [snap, plain]) {
    const r = spawnSync(bin, ["explain", obj, "--no-load", "--json"], {
      env: { PATH: pathDir, TMPDIR: work, TSBPF_TIMING: "1" },
      encoding: "utf8",
      timeout: RUN_TIMEOUT,
      maxBuffer: 64 << 20,
    });
    assert.is(r.status, 0, show(r));
    assert.ok(r.stdout === fromSource.stdout, `${bin}: explain --json differs from the source run's`);
    // The phases bench/core.ts reads.
    for (const p of ["explain: started", "explain: ELF parsed", "explain: target BTF read"])
      assert.match(r.stderr, p, show(r));
    // As many as the object's .BTF.ext lists (the same JSON's CO-RE section).
    const records = (JSON.parse(fromSource.stdout) as { core_relocations: unknown[] }).core_relocations
      .length;
    assert.ok(records > 100, `${records} CO-RE records in the source run's report`);
    assert.match(r.stderr, `explain: CO-RE resolved (${records} relocations)`, show(r));
  }
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test.run();
