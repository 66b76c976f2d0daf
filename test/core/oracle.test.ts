// libbpf as the oracle for CO-RE: every object in the repo with CO-RE records
// (test/fixtures/core*.bpf.o, bpf/process.bpf.o) is loaded with `tsbpf load --pin
// DIR --no-attach` and with `bpftool prog loadall`; `bpftool prog dump xlated` of
// each program must be identical apart from map ids and kernel addresses. Objects
// libbpf refuses (core_fail.bpf.o) must be refused by tsbpf as well.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readCollectionSpec } from "../../src/elf/collection.ts";
import { haveTool, privileged, ROOT_DIR } from "../helpers/env.ts";

const BPFFS = "/sys/fs/bpf";

function coreObjects(): string[] {
  const out: string[] = [];
  for (const dir of ["test/fixtures", "bpf"]) {
    for (const f of readdirSync(join(ROOT_DIR, dir)).sort()) {
      if (!f.endsWith(".bpf.o")) continue;
      const rel = `${dir}/${f}`;
      const spec = readCollectionSpec(readFileSync(join(ROOT_DIR, rel)), rel);
      if ([...spec.functions.values()].some((fn) => fn.coreRelos.length > 0)) out.push(rel);
    }
  }
  return out;
}

function xlated(path: string): string {
  const r = spawnSync("bpftool", ["prog", "dump", "xlated", "pinned", path], {
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.is(r.status, 0, `bpftool dump ${path}: ${r.stderr}`);
  return r.stdout.replace(/map\[id:\d+\]/g, "map[id:N]").replace(/\b0xffff[0-9a-f]{12}\b/g, "0xADDR");
}

function ensureBpffs(): void {
  const mounted = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((l) => / - bpf /.test(l) && l.split(" ")[4] === BPFFS);
  if (!mounted) spawnSync("mount", ["-t", "bpf", "bpf", BPFFS]);
}

for (const rel of coreObjects()) {
  test(`${rel}: xlated program after CO-RE equals libbpf's`, () => {
    if (!privileged("CO-RE libbpf oracle") || !haveTool("bpftool")) return;
    ensureBpffs();
    const tag = `tsbpf-core-oracle-${process.pid}-${rel.replace(/[^a-z0-9]/gi, "_")}`;
    const ours = join(BPFFS, `${tag}-ts`);
    const theirs = join(BPFFS, `${tag}-bt`);
    try {
      const bt = spawnSync("bpftool", ["prog", "loadall", join(ROOT_DIR, rel), theirs], {
        encoding: "utf8",
        timeout: 120_000,
      });
      const ts = spawnSync(
        process.execPath,
        ["--import", "tsx", "src/cli.ts", "load", rel, "--pin", ours, "--no-attach"],
        {
          cwd: ROOT_DIR,
          encoding: "utf8",
          timeout: 120_000,
        },
      );
      if (bt.status !== 0) {
        assert.is.not(ts.status, 0, `${rel}: libbpf refuses it but tsbpf loaded it`);
        assert.not.match(ts.stderr, /\n\s+at /, "no stack trace");
        return;
      }
      assert.is(ts.status, 0, `${rel}: tsbpf load failed: ${ts.stderr}`);
      const progs = readdirSync(theirs).filter((n) => n !== "maps" && n !== "links");
      assert.ok(progs.length > 0);
      for (const p of progs) {
        assert.ok(existsSync(join(ours, p)), `${rel}: tsbpf did not pin program ${p}`);
        assert.fixture(xlated(join(ours, p)), xlated(join(theirs, p)));
      }
    } finally {
      rmSync(ours, { recursive: true, force: true });
      rmSync(theirs, { recursive: true, force: true });
    }
  });
}

test.run();
