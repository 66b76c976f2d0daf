// The pure parts of the tracer's capability handling (src/tracker/privileges.ts,
// src/cli/trace-caps.ts) and capget(2) on this process; the live checks under setpriv
// are in test/trace/privileges.test.ts.
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { dirWritableByDac } from "../../src/cli/trace-caps.ts";
import { CAP, capBit, capGet, capNames } from "../../src/sys/caps.ts";
import {
  capsAllowTracing,
  commandKeepsRoot,
  keepAfterAttach,
  statusCaps,
} from "../../src/tracker/privileges.ts";

const bit = (c: number) => capBit(c);
const ALL = (1n << 41n) - 1n;

test("keepAfterAttach: nothing by default; CAP_SYS_PTRACE only while /proc is read; only what is held", () => {
  const base = { permitted: ALL, seeding: false, bpfOnFdNeedsCap: false, keep: 0n };
  assert.is(keepAfterAttach(base), 0n);
  assert.is(keepAfterAttach({ ...base, seeding: true }), bit(CAP.CAP_SYS_PTRACE));
  assert.is(keepAfterAttach({ ...base, seeding: true, permitted: bit(CAP.CAP_BPF) }), 0n);
  assert.is(keepAfterAttach({ ...base, bpfOnFdNeedsCap: true }), bit(CAP.CAP_BPF));
  // A tracer that loaded with CAP_SYS_ADMIN alone keeps that for bpf() on its fds.
  assert.is(
    keepAfterAttach({ ...base, bpfOnFdNeedsCap: true, permitted: bit(CAP.CAP_SYS_ADMIN) }),
    bit(CAP.CAP_SYS_ADMIN),
  );
  assert.is(keepAfterAttach({ ...base, keep: bit(CAP.CAP_DAC_OVERRIDE) }), bit(CAP.CAP_DAC_OVERRIDE));
  assert.is(keepAfterAttach({ ...base, permitted: 0n, keep: bit(CAP.CAP_DAC_OVERRIDE) }), 0n);
});

test("commandKeepsRoot: only a root holding CAP_SYS_ADMIN", () => {
  assert.ok(commandKeepsRoot(0, ALL));
  assert.not.ok(commandKeepsRoot(0, bit(CAP.CAP_BPF) | bit(CAP.CAP_PERFMON)));
  assert.not.ok(commandKeepsRoot(1000, ALL));
});

test("capsAllowTracing and statusCaps", () => {
  assert.ok(capsAllowTracing(bit(CAP.CAP_BPF) | bit(CAP.CAP_PERFMON)));
  assert.ok(capsAllowTracing(bit(CAP.CAP_SYS_ADMIN)));
  assert.not.ok(capsAllowTracing(bit(CAP.CAP_BPF)));
  const status =
    "Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t000000c000000000\nCapAmb:\t000000c000000004\n";
  assert.is(statusCaps(status, "CapEff"), bit(CAP.CAP_BPF) | bit(CAP.CAP_PERFMON));
  assert.is(
    statusCaps(status, "CapAmb"),
    bit(CAP.CAP_BPF) | bit(CAP.CAP_PERFMON) | bit(CAP.CAP_DAC_READ_SEARCH),
  );
  assert.is(statusCaps(status, "CapBnd"), undefined);
  assert.equal(capNames(bit(CAP.CAP_BPF) | 1n), ["CAP_CHOWN", "CAP_BPF"]);
});

test("dirWritableByDac: owner, group, other bits; write and search both needed", () => {
  const d = (mode: number, uid: number, gid: number) => ({ mode: 0o40000 | mode, uid, gid });
  assert.ok(dirWritableByDac(d(0o755, 0, 0), 0, [0]));
  assert.not.ok(
    dirWritableByDac(d(0o755, 1000, 1000), 0, [0]),
    "root in a user's 0755 directory needs CAP_DAC_OVERRIDE",
  );
  assert.ok(dirWritableByDac(d(0o1777, 1000, 1000), 0, [0]), "sticky /tmp");
  assert.ok(dirWritableByDac(d(0o770, 1000, 50), 0, [0, 50]));
  assert.not.ok(dirWritableByDac(d(0o750, 1000, 50), 0, [0, 50]));
  assert.not.ok(dirWritableByDac(d(0o600, 0, 0), 0, [0]), "no search bit");
});

test("capGet reads this process's sets (effective within permitted)", () => {
  const s = capGet();
  assert.is(s.effective & ~s.permitted, 0n);
  const status = statusCaps(readFileSync("/proc/self/status", "utf8"), "CapEff");
  assert.is(s.effective, status);
});

test.run();
