// libbpf as an oracle: load one object with `bpftool prog loadall` and with
// `tsbpf load --pin DIR --no-attach`, then compare `bpftool prog dump xlated` of every
// program (map ids and kernel addresses aside). Shared by the loader and CO-RE oracles.
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { runCli } from "./cli.ts";
import { ROOT_DIR } from "./env.ts";

export const BPFFS = "/sys/fs/bpf";

/** Every committed *.bpf.o under test/fixtures and bpf, repo-relative, sorted. */
export function bpfObjects(): string[] {
  const out: string[] = [];
  for (const dir of ["test/fixtures", "bpf"]) {
    for (const f of readdirSync(join(ROOT_DIR, dir)).sort())
      if (f.endsWith(".bpf.o")) out.push(`${dir}/${f}`);
  }
  return out;
}

/** bpftool's xlated listing of a pinned program with run-specific numbers normalised. */
export function xlated(path: string): string {
  const r = spawnSync("bpftool", ["prog", "dump", "xlated", "pinned", path], {
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.is(r.status, 0, `bpftool dump ${path}: ${r.stderr}`);
  return r.stdout.replace(/map\[id:\d+\]/g, "map[id:N]").replace(/\b0xffff[0-9a-f]{12}\b/g, "0xADDR");
}

export function ensureBpffs(): void {
  const mounted = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((l) => / - bpf /.test(l) && l.split(" ")[4] === BPFFS);
  if (!mounted) spawnSync("mount", ["-t", "bpf", "bpf", BPFFS]);
}

export interface BothLoaded {
  /** `bpftool prog loadall` (libbpf). */
  bt: SpawnSyncReturns<string>;
  /** `tsbpf load --pin ... --no-attach`. */
  ts: SpawnSyncReturns<string>;
  ours: string;
  theirs: string;
}

/**
 * Loads `rel` both ways, pinned under unique bpffs directories named after `tag`,
 * calls `check`, and removes both pin directories afterwards whatever happens.
 */
export function withBothLoaded(
  rel: string,
  tag: string,
  tsExtraArgs: string[],
  check: (r: BothLoaded) => void,
): void {
  const base = `${tag}-${process.pid}-${rel.replace(/[^a-z0-9]/gi, "_")}`;
  const ours = join(BPFFS, `${base}-ts`);
  const theirs = join(BPFFS, `${base}-bt`);
  try {
    const bt = spawnSync("bpftool", ["prog", "loadall", join(ROOT_DIR, rel), theirs], {
      encoding: "utf8",
      timeout: 120_000,
    });
    const ts = runCli(["load", rel, "--pin", ours, "--no-attach", ...tsExtraArgs]);
    check({ bt, ts, ours, theirs });
  } finally {
    rmSync(ours, { recursive: true, force: true });
    rmSync(theirs, { recursive: true, force: true });
  }
}

/** Every program libbpf pinned is pinned by tsbpf too, with identical xlated code; returns how many. */
export function assertSameXlated(rel: string, { ts, ours, theirs }: BothLoaded): number {
  assert.is(ts.status, 0, `${rel}: tsbpf load failed: ${ts.stderr}`);
  const progs = readdirSync(theirs).filter((n) => n !== "maps" && n !== "links");
  assert.ok(progs.length > 0);
  for (const p of progs) {
    assert.ok(existsSync(join(ours, p)), `${rel}: tsbpf did not pin program ${p}`);
    assert.fixture(xlated(join(ours, p)), xlated(join(theirs, p)));
  }
  return progs.length;
}
