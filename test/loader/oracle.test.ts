// libbpf as the oracle: every object in the repo that needs no CO-RE and no externs
// is loaded with `tsbpf load --pin DIR1 --no-attach` and `bpftool prog loadall OBJ
// DIR2`; `bpftool prog dump xlated` of each program must match (map ids aside), which
// checks subprogram order, relocations, func_info and line_info at once. Objects
// libbpf refuses must be refused by tsbpf too.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readCollectionSpec } from "../../src/elf/collection.ts";
import { haveTool, privileged, ROOT_DIR } from "../helpers/env.ts";

const BPFFS = "/sys/fs/bpf";

function objects(): string[] {
  const out: string[] = [];
  for (const dir of ["test/fixtures", "bpf"]) {
    for (const f of readdirSync(join(ROOT_DIR, dir)).sort())
      if (f.endsWith(".bpf.o")) out.push(`${dir}/${f}`);
  }
  return out.filter((rel) => {
    const spec = readCollectionSpec(readFileSync(join(ROOT_DIR, rel)), rel);
    const core = [...spec.functions.values()].some((f) => f.coreRelos.length > 0);
    return !core && spec.externs.length === 0;
  });
}

/** bpftool's xlated listing with run-specific numbers normalised. */
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

test("xlated instructions of every non-CO-RE object match libbpf's (bpftool prog loadall)", () => {
  if (!privileged("libbpf oracle") || !haveTool("bpftool")) return;
  ensureBpffs();
  const list = objects();
  assert.ok(list.length >= 5, `objects: ${list.join(", ")}`);
  let compared = 0;
  for (const rel of list) {
    const tag = `tsbpf-oracle-${process.pid}-${rel.replace(/[^a-z0-9]/gi, "_")}`;
    const ours = join(BPFFS, `${tag}-ts`);
    const theirs = join(BPFFS, `${tag}-bt`);
    try {
      const bt = spawnSync("bpftool", ["prog", "loadall", join(ROOT_DIR, rel), theirs], {
        encoding: "utf8",
        timeout: 120_000,
      });
      const ts = spawnSync(
        process.execPath,
        ["--import", "tsx", "src/cli.ts", "load", rel, "--pin", ours, "--no-attach", "--json"],
        {
          cwd: ROOT_DIR,
          encoding: "utf8",
          timeout: 120_000,
        },
      );
      if (bt.status !== 0) {
        assert.is.not(ts.status, 0, `${rel}: libbpf refuses it but tsbpf loaded it`);
        assert.not.match(ts.stderr, "internal error");
        continue;
      }
      assert.is(ts.status, 0, `${rel}: tsbpf load failed: ${ts.stderr}`);
      const progs = readdirSync(theirs).filter((n) => n !== "maps" && n !== "links");
      assert.ok(progs.length > 0);
      for (const p of progs) {
        assert.ok(existsSync(join(ours, p)), `${rel}: tsbpf did not pin program ${p}`);
        assert.fixture(xlated(join(ours, p)), xlated(join(theirs, p)));
        compared++;
      }
    } finally {
      rmSync(ours, { recursive: true, force: true });
      rmSync(theirs, { recursive: true, force: true });
    }
  }
  assert.ok(compared >= 8, `compared ${compared} programs`);
});

test.run();
