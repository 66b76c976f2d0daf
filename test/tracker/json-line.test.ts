// writeEventJson (the trace --json hot path) must write exactly what escapeJsonLine
// (JSON.stringify + terminal-safe escaping) writes for every event build.ts can
// produce, including hostile strings.
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  execEvent,
  execFailedEvent,
  exitEvent,
  forkEvent,
  lostEvent,
  type RawTask,
} from "../../src/tracker/build.ts";
import { escapeJsonLine } from "../../src/tracker/escape.ts";
import type { TraceEvent } from "../../src/tracker/events.ts";
import { JsonEventWriter } from "../../src/tracker/json-bytes.ts";

// Strings a traced process controls: any code point (lone surrogates from
// surrogateescape too), with the characters the escaping cares about made common.
const hostile = fc.oneof(
  fc.string({ unit: "binary", maxLength: 24 }),
  fc.string({
    unit: fc.constantFrom(
      "a",
      " ",
      '"',
      "\\",
      "\n",
      "\x1b",
      "\x7f",
      "\u0085",
      "\u2028",
      "\u202e",
      "\udc80",
      "é",
      "🙂",
      "\u{E0041}",
      "\u3164",
    ),
    maxLength: 12,
  }),
  fc.constantFrom("", "fork", "/bin/true", "-c"),
);
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const big = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const task = fc.record({
  time: fc.constantFrom("2026-11-25T06:30:06.123456Z", "1970-01-01T00:00:00.000000Z"),
  tgid: u32,
  tid: u32,
  ppid: u32,
  uid: u32,
  gid: u32,
  comm: hostile,
  startBoottimeNs: big,
  parentStartBoottimeNs: big,
  cgroupId: fc.option(fc.oneof(big, u32), { nil: undefined }),
  pidnsInode: fc.option(u32, { nil: undefined }),
  nsPid: fc.option(u32, { nil: undefined }),
}) as fc.Arbitrary<RawTask>;
const bytes = (s: string) => new TextEncoder().encode(s);

const event: fc.Arbitrary<TraceEvent> = fc.oneof(
  fc
    .tuple(task, u32, u32, fc.boolean(), fc.option(big, { nil: undefined }))
    .map(([r, p, t, thread, cs]) =>
      forkEvent(r, { childPid: p, childTid: t, thread, childStartBoottimeNs: cs }),
    ),
  fc
    .tuple(task, fc.integer({ min: 0, max: 0xffff }), fc.oneof(big, fc.double()), fc.boolean())
    .map(([r, status, lifetimeNs, thread]) => exitEvent(r, { status, lifetimeNs, thread })),
  fc
    .tuple(
      task,
      hostile,
      fc.array(hostile, { maxLength: 5 }),
      fc.boolean(),
      fc.option(fc.array(hostile, { maxLength: 3 }), { nil: undefined }),
      fc.option(u32, { nil: undefined }),
      fc.option(hostile, { nil: undefined }),
    )
    .map(([r, filename, argv, truncated, env, oldPid, exe]) =>
      execEvent(r, {
        filename,
        argvBytes: bytes(argv.map((a) => `${a}\0`).join("")),
        argc: argv.length,
        argvTruncated: truncated,
        ...(env ? { envBytes: bytes(env.map((a) => `${a}\0`).join("")), envc: env.length } : {}),
        oldPid,
        exe,
      }),
    ),
  fc
    .tuple(task, hostile, fc.integer({ min: -200, max: 200 }))
    .map(([r, filename, errno]) => execFailedEvent(r, { filename, errno })),
);

/** writeEventJson's bytes at an odd offset of a dirty buffer, or undefined when it gave up. */
function bytesOf(ev: TraceEvent, el?: number, limit = 1 << 16): string | undefined {
  const out = Buffer.alloc(limit + 64, 0xaa);
  const end = new JsonEventWriter().write(out, 3, limit, ev, el);
  if (end < 0) return undefined;
  // Nothing written past the limit, nor before the offset.
  assert.ok(end <= limit);
  assert.is(out[2], 0xaa);
  for (let i = limit; i < out.length; i++) assert.is(out[i], 0xaa);
  return out.subarray(3, end).toString("utf8");
}

test("writeEventJson: unsafe characters are escaped, the line parses back to the event", () => {
  const ev = exitEvent(
    {
      time: "2026-11-25T06:30:06.123456Z",
      tgid: 7,
      tid: 7,
      ppid: 1,
      uid: 0,
      gid: 0,
      comm: "a\u202eb\x1b[2J\u2028",
      startBoottimeNs: 10n,
      parentStartBoottimeNs: 0n,
    },
    { status: 0x8b, lifetimeNs: 5n, thread: false },
  );
  const line = bytesOf(ev) as string;
  assert.not.match(line, /[\x00-\x1f\x7f-\x9f\u2028\u202e]/);
  assert.equal(JSON.parse(line), ev);
  assert.is(line, escapeJsonLine(ev));
});

test("writeEventJson writes the UTF-8 bytes of escapeJsonLine for every kind of tracer event", () => {
  fc.assert(
    fc.property(event, (ev) => {
      const got = bytesOf(ev);
      // With room to spare, the byte writer gives up only on a field of an unexpected
      // type (here: a cgroup id beyond 2^53, kept as a bigint), and the caller then uses escapeJsonLine.
      if (got === undefined) assert.ok(Object.values(ev).some((v) => typeof v === "bigint"));
      else assert.is(got, escapeJsonLine(ev));
    }),
    { numRuns: 3000 },
  );
});

test("writeEventJson with elapsed_s == escapeJsonLine of the event plus elapsed_s", () => {
  fc.assert(
    fc.property(event, fc.double(), (ev, el) => {
      const got = bytesOf(ev, el);
      if (got !== undefined) assert.is(got, escapeJsonLine({ ...ev, elapsed_s: el }));
    }),
    { numRuns: 1000 },
  );
});

test("writeEventJson: every prefix limit either fits the whole line or gives up without overrunning", () => {
  fc.assert(
    fc.property(event, fc.nat(400), (ev, limit) => {
      const want = Buffer.from(escapeJsonLine(ev));
      const got = bytesOf(ev, undefined, limit);
      if (got !== undefined) assert.is(got, want.toString("utf8"));
      // Plain lines (printable ASCII, nothing escaped) that fit are always written.
      else if (/^[\x20-\x5b\x5d-\x7e]*$/.test(want.toString("latin1")) && 3 + want.length <= limit)
        assert.ok(
          Object.values(ev).some((v) => typeof v === "bigint"),
          "gave up on a line that fits",
        );
    }),
    { numRuns: 2000 },
  );
});

test("writeEventJson: byte path used for a fork storm's events, unknown kinds given back", () => {
  const r: RawTask = {
    time: "2026-11-25T06:30:06.123456Z",
    tgid: 4242,
    tid: 4242,
    ppid: 1,
    uid: 0,
    gid: 0,
    comm: "fork",
    startBoottimeNs: 10_000_000_000n,
    parentStartBoottimeNs: 0n,
    cgroupId: 1234,
    pidnsInode: 4026531836,
    nsPid: 4242,
  };
  const f = forkEvent(r, { childPid: 4243, childTid: 4243, thread: false, childStartBoottimeNs: 10n });
  const x = exitEvent(r, { status: 0x100, lifetimeNs: 50_000n, thread: false });
  assert.is(bytesOf(f), escapeJsonLine(f));
  assert.is(bytesOf(x), escapeJsonLine(x));
  assert.is(bytesOf({ ...x, pid: -12 }), escapeJsonLine({ ...x, pid: -12 }));
  assert.is(bytesOf({ ...x, pid: 2 ** 60 }), escapeJsonLine({ ...x, pid: 2 ** 60 }));
  assert.is(bytesOf({ ...x, pid: Number.NaN }), escapeJsonLine({ ...x, pid: Number.NaN }));
  assert.is(bytesOf(lostEvent("2026-11-25T06:30:06.123456Z", 3, "fork")), undefined);
  assert.is(bytesOf({ ...x, pid: 5n } as unknown as TraceEvent), undefined);
  assert.is(bytesOf(f, undefined, 10), undefined);
});

test.run();
