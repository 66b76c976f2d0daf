// `tsbpf trace --ring-size SIZE`: the values the kernel accepts for a
// BPF_MAP_TYPE_RINGBUF (a power of two, a multiple of the page size) parse to bytes;
// anything else is a one-line usage error (exit 2) before anything is loaded. And the
// size given is the size the kernel map really has.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { MAX_RING_SIZE, parseRingSize, parseTraceArgs } from "../../src/cli/trace-options.ts";
import { UsageError } from "../../src/errors.ts";
import { DEFAULT_RING_SIZE } from "../../src/tracker/bpf-load.ts";
import { haveTool, privileged, ROOT_DIR } from "../helpers/env.ts";

const CLI = join(ROOT_DIR, "bin", "tsbpf.js");

test("parseRingSize: bytes, K, M and G suffixes, the units the error message suggests (issue 18 item 8)", () => {
  assert.is(parseRingSize("1G"), MAX_RING_SIZE);
  assert.is(parseRingSize("1g"), MAX_RING_SIZE);
  assert.is(parseRingSize("4KB"), 4096);
  assert.is(parseRingSize("512MiB"), 512 * 1024 * 1024);
  // Every example the refusal names is itself accepted.
  try {
    parseRingSize("3000");
  } catch (e) {
    const examples = /e\.g\. ([^)]*)|suffix: ([^)]*)/.exec((e as Error).message);
    assert.ok(examples, (e as Error).message);
    for (const ex of (examples[1] ?? examples[2] ?? "").split(", ")) assert.ok(parseRingSize(ex) > 0, ex);
    assert.match((e as Error).message, "to 1G");
    assert.ok(parseRingSize("1G"));
  }
  assert.is(parseRingSize("4096"), 4096);
  assert.is(parseRingSize("4K"), 4096);
  assert.is(parseRingSize("4k"), 4096);
  assert.is(parseRingSize("64K"), 65536);
  assert.is(parseRingSize("8M"), 8 * 1024 * 1024);
  assert.is(parseRingSize("8m"), 8 * 1024 * 1024);
  assert.is(parseRingSize("1024M"), MAX_RING_SIZE);
});

test("parseRingSize: refuses what the kernel would refuse, naming the flag", () => {
  for (const bad of [
    "",
    "0",
    "1",
    "2048",
    "2K",
    "3000",
    "6K",
    "12M",
    "2048M",
    "-4096",
    "4 K",
    "8G",
    "2G",
    "1.5M",
    "0x1000",
    "abc",
  ]) {
    try {
      parseRingSize(bad);
      assert.unreachable(`'${bad}' was accepted`);
    } catch (e) {
      assert.instance(e, UsageError, `'${bad}'`);
      assert.match((e as Error).message, "--ring-size", `'${bad}'`);
      assert.match((e as Error).message, `'${bad}'`);
    }
  }
});

test("parseTraceArgs: --ring-size lands in the trace options, absent by default", () => {
  assert.is(parseTraceArgs(["--ring-size", "16K"]).trace.ringSize, 16384);
  assert.is(parseTraceArgs([]).trace.ringSize, undefined);
});

test("CLI: a bad --ring-size is a one-line usage error, exit 2", () => {
  const r = spawnSync(process.execPath, [CLI, "trace", "--ring-size", "3000", "--", "/bin/true"], {
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.is(r.status, 2, r.stderr);
  assert.is(r.stdout, "");
  const lines = r.stderr.trim().split("\n");
  assert.is(lines.length, 1, r.stderr);
  assert.match(lines[0] as string, /--ring-size expects a power of two/);
});

test("CLI: --help documents --ring-size and its default", () => {
  const r = spawnSync(process.execPath, [CLI, "trace", "--help"], { encoding: "utf8", timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /--ring-size SIZE\s+events ring buffer size; default 2M/);
});

test("kernel: the events ring buffer is created with the size given", () => {
  if (!privileged("--ring-size in the kernel") || !haveTool("bpftool")) return;
  // The traced command is bpftool itself, so it runs while the tracer is loaded; its
  // one-line JSON map list shares stdout with the tracer's NDJSON.
  const r = spawnSync(
    process.execPath,
    [CLI, "trace", "--json", "--ring-size", "32K", "--", "bpftool", "-j", "map", "list"],
    {
      encoding: "utf8",
      timeout: 120_000,
      env: { ...process.env, TSBPF_FORCE_PERF: "" },
    },
  );
  assert.is(r.status, 0, r.stderr);
  const list = r.stdout.split("\n").find((l) => l.startsWith("["));
  assert.ok(list, `no bpftool output in:\n${r.stdout.slice(0, 2000)}`);
  const maps = JSON.parse(list as string) as { type: string; name?: string; max_entries: number }[];
  const rings = maps.filter((m) => m.type === "ringbuf" && m.name === "events");
  assert.ok(
    rings.some((m) => m.max_entries === 32768),
    `an 'events' ringbuf of 32768 bytes: ${JSON.stringify(rings)}`,
  );
});

test("kernel: without --ring-size the events ring buffer is DEFAULT_RING_SIZE (2 MiB)", () => {
  if (!privileged("default ring size in the kernel")) return;
  // The traced command reads its parent's (the tracer's) fdinfo: other tracers may run
  // on this machine, and only this tracer's fds say which ring is its own.
  const r = spawnSync(
    process.execPath,
    [CLI, "trace", "--json", "--", "sh", "-c", "cat /proc/$PPID/fdinfo/*"],
    {
      encoding: "utf8",
      timeout: 120_000,
      env: { ...process.env, TSBPF_FORCE_PERF: "" },
    },
  );
  assert.is(r.status, 0, r.stderr);
  // fdinfo of a BPF map fd (kernel/bpf/syscall.c bpf_map_show_fdinfo): "map_type:\t27"
  // is BPF_MAP_TYPE_RINGBUF, followed by key_size, value_size and max_entries.
  const rings = [...r.stdout.matchAll(/^map_type:\s+27\n(?:\S+:\s+\S+\n)*?max_entries:\s+(\d+)$/gm)].map(
    (m) => Number(m[1]),
  );
  assert.equal(rings, [DEFAULT_RING_SIZE], r.stdout.slice(0, 3000));
  assert.is(DEFAULT_RING_SIZE, 2 * 1024 * 1024);
});

test.run();
