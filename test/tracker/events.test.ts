import { test } from "uvu";
import * as assert from "uvu/assert";
import { execEvent, exitEvent, forkEvent } from "../../src/tracker/build.ts";
import {
  argvToBytes,
  bytesToArgv,
  decodeStatus,
  EventTimeParser,
  errnoName,
  eventTimeMs,
  execIdTicks,
  formatExecId,
  IsoTimeFormatter,
  isoTimeFromNs,
  signalName,
} from "../../src/tracker/events.ts";

test("decodeStatus: normal exits keep the full 8-bit code", () => {
  for (const code of [0, 1, 3, 255]) {
    assert.equal(decodeStatus(code << 8), {
      exit_code: code,
      signal: null,
      signal_name: null,
      core_dumped: false,
    });
  }
});

test("decodeStatus: signals and the core-dump bit are not lost", () => {
  assert.equal(decodeStatus(9), { exit_code: 0, signal: 9, signal_name: "SIGKILL", core_dumped: false });
  assert.equal(decodeStatus(15), { exit_code: 0, signal: 15, signal_name: "SIGTERM", core_dumped: false });
  assert.equal(decodeStatus(11 | 0x80), {
    exit_code: 0,
    signal: 11,
    signal_name: "SIGSEGV",
    core_dumped: true,
  });
  // exit(137) is a normal exit with code 137, not "signal 9" (the shell convention).
  assert.equal(decodeStatus(137 << 8).signal, null);
  assert.is(decodeStatus(137 << 8).exit_code, 137);
});

test("signal and errno names", () => {
  assert.is(signalName(6), "SIGABRT");
  assert.is(signalName(34), "SIGRTMIN+2");
  assert.is(errnoName(2), "ENOENT");
  assert.is(errnoName(-13), "EACCES");
  assert.is(errnoName(8), "ENOEXEC");
  assert.is(errnoName(99999), "E99999");
});

test("exec_id is <tgid>-<start ticks at USER_HZ=100>", () => {
  assert.is(formatExecId(1234, 0n), "1234-0");
  assert.is(formatExecId(1234, 5_019_999_999n), "1234-501"); // floor, like nsec_to_clock_t
  assert.is(formatExecId(7, 123_456_789_012_345n), "7-12345678");
});

test("exec_id from a Number start time equals the BigInt one (floor at tick boundaries, 2^53 edge)", () => {
  const cases: bigint[] = [0n, 9_999_999n, 10_000_000n, 2n ** 53n - 1n, 2n ** 53n - 10_000_001n];
  for (let k = 1n; k < 2n ** 30n; k = k * 3n + 1n) cases.push(k * 10_000_000n - 1n, k * 10_000_000n);
  let x = 0x9e3779b97f4a7c15n;
  for (let i = 0; i < 2000; i++) {
    x = (x * 6364136223846793005n + 1442695040888963407n) & (2n ** 64n - 1n);
    cases.push(x % 2n ** 53n);
  }
  for (const n of cases) {
    if (n >= 2n ** 53n) continue;
    assert.is(formatExecId(42, Number(n)), formatExecId(42, n), String(n));
  }
  // Past 2^53 the decoder hands over a BigInt; an inexact Number still takes the exact path.
  assert.is(formatExecId(1, 2n ** 60n), `1-${2n ** 60n / 10_000_000n}`);
});

test("bytesToArgv: NUL separated, empty args kept, argc bound", () => {
  const b = new TextEncoder().encode("ls\0-l\0\0a b\0");
  assert.equal(bytesToArgv(b, 4), ["ls", "-l", "", "a b"]);
  assert.equal(bytesToArgv(b, 2), ["ls", "-l"]);
  // Truncated buffer without a final NUL keeps the partial last argument.
  assert.equal(bytesToArgv(new TextEncoder().encode("echo\0hel"), 5), ["echo", "hel"]);
  assert.equal(bytesToArgv(new TextEncoder().encode("héllo\0日本\0"), 2), ["héllo", "日本"]);
});

test("bytesToArgv: invalid UTF-8 uses surrogateescape and round-trips byte-exact", () => {
  const raw = Uint8Array.from([0x61, 0xff, 0x62, 0, 0xc3, 0x28, 0, 0xed, 0xa0, 0x80, 0, 0xe2, 0x82, 0]);
  const argv = bytesToArgv(raw, 4);
  assert.equal(argv, ["a\udcffb", "\udcc3(", "\udced\udca0\udc80", "\udce2\udc82"]);
  assert.equal(Array.from(argvToBytes(argv)), Array.from(raw));
  const json = JSON.stringify(argv);
  assert.ok(json.includes("\\udcff"));
  assert.equal(JSON.parse(json), argv);
  // Every single byte value survives.
  const all = new Uint8Array(255).map((_, i) => i + 1);
  assert.equal(Array.from(argvToBytes(bytesToArgv(all, 1)).subarray(0, 255)), Array.from(all));
});

test("isoTimeFromNs keeps microseconds", () => {
  assert.is(isoTimeFromNs(1_700_000_000_123_456_789n), "2023-11-14T22:13:20.123456Z");
});

test("EventTimeParser: the cached per-second parse equals Date.parse, as does the one-off eventTimeMs", () => {
  const parser = new EventTimeParser();
  const iso = new IsoTimeFormatter();
  for (let i = 0; i < 50_000; i++) {
    // Random seconds, and runs of events within one second (the cached path).
    const ns =
      i % 4 === 0
        ? BigInt(Math.floor(Math.random() * 2 ** 52)) * 1000n + BigInt(i % 1000)
        : 1_764_000_000_000_000_000n + BigInt(i) * 1_000_003n;
    const t = iso.fromNs(ns);
    assert.is(t, isoTimeFromNs(ns), "the stream formatter and the one-off agree");
    assert.is(parser.ms({ time: t }), Date.parse(t), t);
    assert.is(eventTimeMs({ time: t }), Date.parse(t), t);
  }
  // Same second, later and earlier events; then other formats (not cached).
  assert.is(parser.ms({ time: "2026-11-25T06:30:06.999999Z" }), Date.parse("2026-11-25T06:30:06.999Z"));
  assert.is(parser.ms({ time: "2026-11-25T06:30:06.000001Z" }), Date.parse("2026-11-25T06:30:06.000Z"));
  for (const t of ["2026-11-25T06:30:06.12x456Z", "2026-11-25T06:30:06Z", "2026-13-25T06:30:06.123456Z", "x"])
    assert.ok(Object.is(parser.ms({ time: t }), Date.parse(t)), t);
});

test("two formatters keep their own second: one stream's times never leak into another's", () => {
  const a = new IsoTimeFormatter();
  const b = new IsoTimeFormatter();
  assert.is(a.fromUs(1_700_000_000_123_456), "2023-11-14T22:13:20.123456Z");
  assert.is(b.fromUs(1_600_000_000_000_001), "2020-09-13T12:26:40.000001Z");
  assert.is(a.fromUs(1_700_000_000_999_999), "2023-11-14T22:13:20.999999Z");
  assert.is(a.fromUs(1_700_000_001_000_000), "2023-11-14T22:13:21.000000Z");
});

test("execIdTicks: the ticks after the dash, undefined when malformed", () => {
  assert.is(execIdTicks("1234-56789"), 56789);
  assert.is(execIdTicks("1-0"), 0);
  for (const bad of ["", "-5", "5-", "a-5", "5-5-5", "5-1a", "12"])
    assert.is(execIdTicks(bad), undefined, bad);
});

test("build: raw records become contract events", () => {
  const raw = {
    time: "2024-01-01T00:00:00.000Z",
    tgid: 100,
    tid: 101,
    ppid: 1,
    uid: 1000,
    gid: 1000,
    comm: Uint8Array.from([0x62, 0x61, 0x73, 0x68, 0, 0, 0]),
    startBoottimeNs: 2_000_000_000n,
    parentStartBoottimeNs: 10_000_000n,
    cgroupId: 42n,
    pidnsInode: 4026531836,
    nsPid: 100,
  };
  const x = execEvent(raw, {
    filename: "/bin/ls",
    argvBytes: new TextEncoder().encode("ls\0-l\0"),
    argc: 3,
    argvTruncated: false,
    oldPid: 101,
  });
  assert.is(x.comm, "bash");
  assert.is(x.exec_id, "100-200");
  assert.is(x.parent_exec_id, "1-1");
  assert.is(x.argv_truncated, true); // 2 of 3 arguments
  assert.is(x.old_pid, 101);
  assert.is(x.cgroup_id, 42);
  const e = exitEvent(raw, { status: 0x8b, lifetimeNs: 5n, thread: false });
  assert.is(e.signal_name, "SIGSEGV");
  assert.is(e.core_dumped, true);
  assert.is(e.status, 0x8b);
  assert.is(e.thread, undefined);
  const f = forkEvent(raw, {
    childPid: 200,
    childTid: 200,
    thread: false,
    childStartBoottimeNs: 3_000_000_000n,
  });
  assert.is(f.child_exec_id, "200-300");
});

test.run();
