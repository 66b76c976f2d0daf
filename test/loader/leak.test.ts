// Nothing leaks: after close(), and after SIGKILL of a process that loaded and
// attached an object, the kernel lists none of its programs or links. Programs get
// names unique to this run so other processes on the machine do not interfere.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readCollectionSpec } from "../../src/elf/collection.ts";
import { loadCollection } from "../../src/loader/collection.ts";
import { haveTool, privileged, ROOT_DIR } from "../helpers/env.ts";
import { spawnUntilReady } from "../helpers/spawn.ts";

interface ProgEntry {
  id: number;
  name?: string;
}
interface LinkEntry {
  id: number;
  prog_id: number;
}

function kernelState(): { progs: ProgEntry[]; links: LinkEntry[] } {
  const p = spawnSync("bpftool", ["prog", "list", "-j"], { encoding: "utf8", timeout: 60_000 });
  const l = spawnSync("bpftool", ["link", "list", "-j"], { encoding: "utf8", timeout: 60_000 });
  assert.is(p.status, 0, p.stderr);
  assert.is(l.status, 0, l.stderr);
  return { progs: JSON.parse(p.stdout || "[]"), links: JSON.parse(l.stdout || "[]") };
}

/** Programs named with `prefix`, and the links that point at them. */
function leftovers(prefix: string): { progs: ProgEntry[]; links: LinkEntry[] } {
  const s = kernelState();
  const progs = s.progs.filter((p) => p.name?.startsWith(prefix));
  const ids = new Set(progs.map((p) => p.id));
  return { progs, links: s.links.filter((l) => ids.has(l.prog_id)) };
}

/** Freeing is deferred (RCU, workqueues): poll for a while. */
async function waitGone(prefix: string): Promise<{ progs: ProgEntry[]; links: LinkEntry[] }> {
  let left = leftovers(prefix);
  for (let i = 0; i < 100 && (left.progs.length || left.links.length); i++) {
    await new Promise((r) => setTimeout(r, 200));
    left = leftovers(prefix);
  }
  return left;
}

const prefix = () => `tl${(process.pid % 46656).toString(36)}${Date.now().toString(36).slice(-4)}`;

test("close() releases every program, link and map", async () => {
  if (!privileged("leak check") || !haveTool("bpftool")) return;
  const pre = prefix();
  const path = join(ROOT_DIR, "test/fixtures/attach.bpf.o");
  const spec = readCollectionSpec(readFileSync(path), path);
  spec.programs.forEach((p, i) => {
    p.name = `${pre}${i}`;
  });
  const coll = await loadCollection(spec);
  for (const p of Object.values(coll.programs)) p.attach();
  const during = leftovers(pre);
  assert.is(during.progs.length, 3);
  assert.is(during.links.length, 3);
  coll.close();
  const after = await waitGone(pre);
  assert.equal(after, { progs: [], links: [] });
});

test("a failure half-way (second program rejected) closes everything already created", async () => {
  if (!privileged("leak check on failure") || !haveTool("bpftool")) return;
  const pre = prefix();
  const path = join(ROOT_DIR, "test/fixtures/globals.bpf.o");
  const spec = readCollectionSpec(readFileSync(path), path);
  assert.is(spec.programs.length, 2);
  spec.programs.forEach((p, i) => {
    p.name = `${pre}${i}`;
  });
  // Break the last program: its final instruction (exit) becomes "r0 = 0", so the
  // verifier refuses it after the maps and the first program exist.
  const last = spec.programs[1] as (typeof spec.programs)[number];
  const insns = last.insns.slice();
  insns.set([0xb7, 0, 0, 0, 0, 0, 0, 0], insns.length - 8);
  last.insns = insns;
  const fdsBefore = readdirSync("/proc/self/fd").length;
  let failed = false;
  try {
    (await loadCollection(spec)).close();
  } catch {
    failed = true;
  }
  assert.ok(failed, "the broken program must be rejected");
  assert.is(readdirSync("/proc/self/fd").length, fdsBefore, "no fd left open");
  const after = await waitGone(pre);
  assert.equal(after, { progs: [], links: [] });
});

test("SIGKILL of a process that loaded and attached: the kernel cleans up everything", async () => {
  if (!privileged("leak check after SIGKILL") || !haveTool("bpftool")) return;
  const pre = prefix();
  const run = await spawnUntilReady(
    [process.execPath, "--import", "tsx", "test/loader/scripts/load-attach.ts", pre],
    (out) => out.includes("ready"),
  );
  const { child } = run;
  assert.ok(run.ready, `child did not get ready: ${run.stderr()}`);
  const during = leftovers(pre);
  assert.is(during.progs.length, 3);
  assert.is(during.links.length, 3);
  child.kill("SIGKILL");
  await run.exited;
  const after = await waitGone(pre);
  assert.equal(after, { progs: [], links: [] });
});

test.run();
