// `tsbpf load` end to end: --pin leaves programs, maps and links pinned after exit;
// without --pin the programs stay attached until SIGTERM, then nothing is left.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CLI, runCli } from "../helpers/cli.ts";
import { haveTool, privileged } from "../helpers/env.ts";
import { spawnUntilReady } from "../helpers/spawn.ts";

const tsbpf = (args: string[]) => runCli(args);

function bpftoolJson(args: string[]): { id: number; prog_id?: number }[] {
  const r = spawnSync("bpftool", [...args, "-j"], { encoding: "utf8", timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout || "[]");
}

interface Report {
  programs: { name: string; id: number; insns: number }[];
  maps: { name: string; id: number }[];
  links: { program: string; id?: number; pinned?: string }[];
}

test("load --pin DIR: programs, maps and links stay pinned after exit; rm -r removes them", () => {
  if (!privileged("tsbpf load --pin") || !haveTool("bpftool")) return;
  const dir = `/sys/fs/bpf/tsbpf-cli-${process.pid}`;
  try {
    const r = tsbpf(["load", "test/fixtures/attach.bpf.o", "--pin", dir, "--json"]);
    assert.is(r.status, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as Report;
    assert.equal(rep.programs.map((p) => p.name).sort(), ["btf_fork", "raw_sys_enter", "tp_getppid"]);
    assert.equal(readdirSync(dir).sort(), ["btf_fork", "links", "maps", "raw_sys_enter", "tp_getppid"]);
    assert.ok(existsSync(join(dir, "maps", "counts")));
    assert.ok(existsSync(join(dir, "maps", "attach_rodata")), "'.' becomes '_' in pin names");
    assert.equal(readdirSync(join(dir, "links")).sort(), ["btf_fork", "raw_sys_enter", "tp_getppid"]);
    // The process has exited: the pins keep programs and links alive.
    const progIds = new Set(bpftoolJson(["prog", "list"]).map((p) => p.id));
    for (const p of rep.programs) assert.ok(progIds.has(p.id), `program ${p.name} id ${p.id} still loaded`);
    const linkIds = new Set(bpftoolJson(["link", "list"]).map((l) => l.id));
    for (const l of rep.links)
      assert.ok(l.id !== undefined && linkIds.has(l.id), `link of ${l.program} still there`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("load without --pin: attached until SIGTERM, then detached and closed", async () => {
  if (!privileged("tsbpf load attached") || !haveTool("bpftool")) return;
  const jsonLine = (out: string) => out.split("\n").find((l) => l.startsWith("{"));
  const run = await spawnUntilReady(
    [process.execPath, ...CLI, "load", "test/fixtures/attach.bpf.o", "--json"],
    (out) => jsonLine(out) !== undefined && out.includes("\n"),
  );
  const { child } = run;
  const line = run.ready ? jsonLine(run.stdout()) : undefined;
  const report = line === undefined ? undefined : (JSON.parse(line) as Report);
  assert.ok(report, `no report: ${run.stderr()}`);
  const linkIds = new Set(bpftoolJson(["link", "list"]).map((l) => l.id));
  for (const l of report?.links ?? []) assert.ok(l.id !== undefined && linkIds.has(l.id));
  child.kill("SIGTERM");
  assert.is(await run.exited, 0, run.stderr());
  // Links are released synchronously on close; programs may take an RCU grace period.
  const ids = new Set(report?.programs.map((p) => p.id));
  let left = -1;
  for (let i = 0; i < 100 && left !== 0; i++) {
    left = bpftoolJson(["prog", "list"]).filter((p) => ids.has(p.id)).length;
    if (left) await new Promise((r) => setTimeout(r, 200));
  }
  assert.is(left, 0, "programs released after SIGTERM");
  const linksAfter = new Set(bpftoolJson(["link", "list"]).map((l) => l.id));
  for (const l of report?.links ?? []) assert.not.ok(l.id !== undefined && linksAfter.has(l.id));
});

test("load: usage errors exit 2", () => {
  const r = tsbpf(["load"]);
  assert.is(r.status, 2);
  assert.match(r.stderr, "expected exactly one OBJ");
});

test.run();
