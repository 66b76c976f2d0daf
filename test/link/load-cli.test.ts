// `tsbpf load` attaching from SEC() names (issue 16 §2, issue 17 item 11): a program whose
// SEC() cannot say where it attaches takes --binary/--symbol/--target, and otherwise the
// error names what is missing and suggests --no-attach, leaving nothing behind; with
// --pin the links are pinned too, outlive the command and keep counting, the report
// prints every pin path, and removing the directory detaches them.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { assertOneLineError, runCli } from "../helpers/cli.ts";
import { haveTool, privileged } from "../helpers/env.ts";

const OBJ = "test/fixtures/uprobe.bpf.o";
const DIR = `/sys/fs/bpf/tsbpf-kernels-load-${process.pid}`;
// tsx start-up plus a load: seconds on the host, minutes in a TCG guest of the kernel matrix.
const cli = (args: string[]) => runCli(args, { timeoutMs: 900_000 });

function counts(dir: string): bigint[] {
  const r = spawnSync("bpftool", ["--json", "map", "dump", "pinned", `${dir}/maps/counts`], {
    encoding: "utf8",
  });
  assert.is(r.status, 0, r.stderr);
  // Rows are {key, value} with values as byte arrays ("0x01", ...) or, with BTF, {formatted}.
  const rows = JSON.parse(r.stdout) as { value: string[] | number; formatted?: { value: number } }[];
  return rows.map((row) => {
    if (row.formatted) return BigInt(row.formatted.value);
    if (Array.isArray(row.value)) return row.value.reduceRight((acc, b) => (acc << 8n) | BigInt(b), 0n);
    return BigInt(row.value);
  });
}

function linkExists(id: number): boolean {
  return spawnSync("bpftool", ["link", "show", "id", String(id)], { encoding: "utf8" }).status === 0;
}

test("a program SEC() cannot place: the error says what is missing and suggests --no-attach", () => {
  if (!privileged("load attach errors")) return;
  try {
    const r = cli(["load", OBJ, "--pin", DIR]);
    assertOneLineError(r, 1, /up_bare.*--binary PATH --symbol FUNC.*--no-attach/, "bare uprobe");
    assert.ok(!existsSync(DIR) || readdirSync(DIR).every((d) => readdirSync(`${DIR}/${d}`).length === 0));
    // The report of issue 17: a raw_tp with no name.
    const rb = cli(["load", "test/fixtures/ringbuf.bpf.o"]);
    assertOneLineError(rb, 1, /raw tracepoint name is empty.*--no-attach/, "ringbuf.bpf.o");
    assertOneLineError(cli(["load", OBJ, "--pid", "x"]), 2, /--pid x: expected a process id/, "--pid x");
  } finally {
    rmSync(DIR, { recursive: true, force: true });
  }
});

test("load --pin attaches with --binary/--symbol, pins links that outlive the command, reports pin paths", () => {
  if (!privileged("load --pin links")) return;
  if (!haveTool("bpftool")) return;
  try {
    const r = cli(["load", OBJ, "--pin", DIR, "--binary", "libc.so.6", "--symbol", "getppid", "--json"]);
    assert.is(r.status, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as {
      programs: { name: string; pinned: string }[];
      maps: { name: string; pinned: string }[];
      links: { program: string; kind: string; target: string; id: number; pinned: string }[];
    };
    assert.equal(
      rep.programs.map((p) => p.pinned),
      [`${DIR}/up_bare`, `${DIR}/uret_libc`],
    );
    assert.equal(
      rep.maps.find((m) => m.name === "counts")?.pinned,
      `${DIR}/maps/counts`,
      "every map's pin path is in the report",
    );
    for (const m of rep.maps) assert.ok(existsSync(m.pinned), `${m.name} pinned at ${m.pinned}`);
    assert.equal(
      rep.links.map((l) => [l.program, l.kind, l.pinned]),
      [
        ["up_bare", "uprobe", `${DIR}/links/up_bare`],
        ["uret_libc", "uretprobe", `${DIR}/links/uret_libc`],
      ],
    );
    assert.match(rep.links[0]?.target ?? "", /libc\.so\.6:getppid$/);
    // The command has exited; its links still fire for this process's getppid calls.
    const before = counts(DIR);
    for (let i = 0; i < 20; i++) void process.ppid;
    const after = counts(DIR);
    assert.ok((after[0] as bigint) - (before[0] as bigint) >= 20n, "pinned uprobe link still attached");
    assert.ok((after[1] as bigint) - (before[1] as bigint) >= 20n, "pinned uretprobe link still attached");
    // The text report names the same paths.
    rmSync(DIR, { recursive: true, force: true });
    for (const l of rep.links) assert.not.ok(linkExists(l.id), `link ${l.id} gone with its pin`);
    const t = cli(["load", OBJ, "--pin", DIR, "--binary", "libc.so.6", "--symbol", "getppid"]);
    assert.is(t.status, 0, t.stderr);
    assert.match(t.stdout, `map       counts (array) id`);
    assert.match(t.stdout, `pinned ${DIR}/maps/counts`);
    assert.match(t.stdout, `link      up_bare -> uprobe`);
    assert.match(t.stdout, `pinned ${DIR}/links/up_bare`);
  } finally {
    rmSync(DIR, { recursive: true, force: true });
  }
});

test("load --pin DIR over an earlier run's pins: refused with one line, the old pins left as they were (issue 18 item 8)", () => {
  if (!privileged("load --pin stale pins")) return;
  const dir = `${DIR}-stale`;
  try {
    const first = cli(["load", OBJ, "--pin", dir, "--no-attach", "--json"]);
    assert.is(first.status, 0, first.stderr);
    const old = JSON.parse(first.stdout) as { maps: { name: string; id: number; pinned: string }[] };
    const counts = old.maps.find((m) => m.name === "counts");
    assert.ok(counts);
    // A different program now (the old program pins gone), the same map name: before,
    // the new program used a new 'counts' while DIR/maps/counts kept the old one, silently.
    for (const p of ["up_bare", "uret_libc"]) rmSync(`${dir}/${p}`);
    const again = cli(["load", OBJ, "--pin", dir, "--no-attach", "--json"]);
    assertOneLineError(
      again,
      1,
      new RegExp(
        `${dir}/maps/counts already holds map id ${counts.id} from an earlier run \\(this run's 'counts' is id \\d+\\).*rm -r ${dir}`,
      ),
      "stale map pin",
    );
    assert.not.ok(existsSync(`${dir}/up_bare`), "nothing pinned by the refused run");
    const still = spawnSync("bpftool", ["--json", "map", "show", "pinned", `${dir}/maps/counts`], {
      encoding: "utf8",
    });
    assert.is(JSON.parse(still.stdout).id, counts.id, "the old pin is untouched");
    // Same for a program pin left behind.
    rmSync(dir, { recursive: true, force: true });
    assert.is(cli(["load", OBJ, "--pin", dir, "--no-attach"]).status, 0);
    assertOneLineError(
      cli(["load", OBJ, "--pin", dir, "--no-attach"]),
      1,
      /up_bare already holds an earlier run's pin/,
      "stale prog pin",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("load --pid: the uprobe fires only in that process", () => {
  if (!privileged("load --pid")) return;
  if (!haveTool("bpftool")) return;
  try {
    const r = cli([
      "load",
      OBJ,
      "--pin",
      DIR,
      "--binary",
      "libc.so.6",
      "--symbol",
      "getppid",
      "--pid",
      String(process.pid),
    ]);
    assert.is(r.status, 0, r.stderr);
    const before = counts(DIR)[0] as bigint;
    for (let i = 0; i < 11; i++) void process.ppid;
    // Another process's calls are not seen.
    spawnSync(process.execPath, ["-e", "for (let i = 0; i < 50; i++) process.ppid"]);
    assert.is((counts(DIR)[0] as bigint) - before, 11n);
  } finally {
    rmSync(DIR, { recursive: true, force: true });
  }
});

test.run();
