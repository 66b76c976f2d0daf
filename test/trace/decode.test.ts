// The record decoder against records built with the object's own BTF (struct
// encoders from src/btf/codec.ts), so both sides agree on the layout in process.h.
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Btf } from "../../src/btf/btf.ts";
import { makeCodec } from "../../src/btf/codec.ts";
import { readCollectionSpec } from "../../src/elf/collection.ts";
import { EV, makeRecordDecoder } from "../../src/tracker/bpf-decode.ts";
import type { ExecEvent, ExecFailedEvent, ExitEvent, ForkEvent } from "../../src/tracker/events.ts";
import { programsFor, rodataFor } from "../../src/tracker/source.ts";

const spec = readCollectionSpec(new Uint8Array(readFileSync("bpf/process.bpf.o")), "bpf/process.bpf.o");
const btf = spec.btf as Btf;
const enc = (name: string) => makeCodec(btf, btf.findByNameKind(name, "struct")[0] as number);

const comm = (s: string) => {
  const b = new Uint8Array(16);
  b.set(new TextEncoder().encode(s));
  return b;
};
const hdr = (type: number, size: number, extra: Record<string, unknown> = {}) => ({
  ts_boot_ns: 5_000_000_000n,
  cgroup_id: 77n,
  exec_id: 1_230_000_000n,
  parent_exec_id: 450_000_000n,
  type,
  size,
  pid: 100,
  tid: 100,
  ppid: 50,
  uid: 1000,
  gid: 1001,
  euid: 1000,
  pidns_ino: 4026531836,
  ns_pid: 100,
  ns_tid: 100,
  cpu: 1,
  comm: comm("worker"),
  ...extra,
});

function record(structName: string, value: Record<string, unknown>, tail = new Uint8Array(0)): DataView {
  const c = enc(structName);
  const out = new Uint8Array(8 + c.size + tail.length); // 8 bytes of padding before: offsets must be honoured
  c.encode(value, out.subarray(8, 8 + c.size));
  out.set(tail, 8 + c.size);
  return new DataView(out.buffer);
}

const dec = makeRecordDecoder(btf, {
  bootToRealtimeNs: 1_700_000_000_000_000_000n,
  parentOf: (pid) => (pid === 50 ? { ppid: 1, parent_exec_id: "1-0" } : undefined),
});
const decodeAt = (dv: DataView) => dec.decode(dv, 8, dv.byteLength - 8);

test("exec: argv split on NUL, filename, truncation flag, env, ids and wall time", () => {
  const te = new TextEncoder();
  const fn = te.encode("/bin/echo\0");
  const args = te.encode("echo\0a b\0\x1b[31m\0");
  const env = te.encode("A=1\0B=2\0");
  const tail = new Uint8Array([...fn, ...args, ...env]);
  const size = enc("tsbpf_exec_event").size + tail.length;
  const dv = record(
    "tsbpf_exec_event",
    {
      hdr: hdr(EV.EXEC, size),
      old_pid: 100,
      argc: 3,
      envc: 2,
      args_size: args.length,
      env_size: env.length,
      filename_len: fn.length,
      interp_len: 0,
      args_len: args.length,
      env_len: env.length,
      flags: 2,
    },
    tail,
  );
  const ev = decodeAt(dv) as ExecEvent;
  assert.is(ev.event, "exec");
  assert.equal(ev.argv, ["echo", "a b", "\x1b[31m"]);
  assert.is(ev.filename, "/bin/echo");
  assert.is(ev.argv_truncated, false);
  assert.equal(ev.env, ["A=1", "B=2"]);
  assert.is(ev.pid, 100);
  assert.is(ev.ppid, 50);
  assert.is(ev.uid, 1000);
  assert.is(ev.gid, 1001);
  assert.is(ev.comm, "worker");
  assert.is(ev.exec_id, "100-123");
  assert.is(ev.parent_exec_id, "50-45");
  assert.is(ev.cgroup_id, 77);
  assert.is(ev.pidns, 4026531836);
  assert.is(ev.old_pid, undefined);
  assert.is(ev.time, "2023-11-14T22:13:25.000000Z");
});

test("exec: ARGS_TRUNCATED flag and a cut last argument", () => {
  const tail = new TextEncoder().encode("/x\0aaaa\0bb");
  const dv = record(
    "tsbpf_exec_event",
    { hdr: hdr(EV.EXEC, 0), argc: 5, filename_len: 3, args_len: tail.length - 3, flags: 1 },
    tail,
  );
  const ev = decodeAt(dv) as ExecEvent;
  assert.equal(ev.argv, ["aaaa", "bb"]);
  assert.is(ev.argc, 5);
  assert.is(ev.argv_truncated, true);
});

test("exit: status decoded (signal, core, code), lifetime, thread flag", () => {
  const killed = decodeAt(
    record("tsbpf_exit_event", { hdr: hdr(EV.EXIT, 0), lifetime_ns: 1234n, status: 9 }),
  ) as ExitEvent;
  assert.is(killed.signal, 9);
  assert.is(killed.signal_name, "SIGKILL");
  assert.is(killed.exit_code, 0);
  assert.is(killed.lifetime_ns, 1234);
  assert.is(killed.thread, undefined);
  const code = decodeAt(record("tsbpf_exit_event", { hdr: hdr(EV.EXIT, 0), status: 7 << 8 })) as ExitEvent;
  assert.is(code.exit_code, 7);
  assert.is(code.signal, null);
  const core = decodeAt(
    record("tsbpf_exit_event", { hdr: hdr(EV.THREAD_EXIT, 0), status: 0x80 | 11 }),
  ) as ExitEvent;
  assert.is(core.core_dumped, true);
  assert.is(core.thread, true);
});

test("exit and exec: exec_id and parent_exec_id from the table when the start times match, else from the record", () => {
  // The entries' strings are marked so that the test can tell them from formatted ones.
  const entries = new Map<
    number,
    { ppid: number; parent_exec_id: string; exec_id: string; start_ticks: number }
  >();
  const d = makeRecordDecoder(btf, { bootToRealtimeNs: 0n, parentOf: (pid) => entries.get(pid) });
  const exitSize = enc("tsbpf_exit_event").size;
  const exit = () => {
    const dv = record("tsbpf_exit_event", { hdr: hdr(EV.EXIT, exitSize), status: 0 });
    return d.decode(dv, 8, dv.byteLength - 8) as ExitEvent;
  };
  // Neither is known: formatted from the header (start times 1.23 s and 0.45 s = 123 and 45 ticks).
  assert.equal([exit().exec_id, exit().parent_exec_id], ["100-123", "50-45"]);
  entries.set(100, { ppid: 50, parent_exec_id: "", exec_id: "table:100", start_ticks: 123 });
  entries.set(50, { ppid: 1, parent_exec_id: "", exec_id: "table:50", start_ticks: 45 });
  assert.equal([exit().exec_id, exit().parent_exec_id], ["table:100", "table:50"]);
  // The same for an exec record.
  const fn = new TextEncoder().encode("/bin/true\0");
  const args = new TextEncoder().encode("true\0");
  const xSize = enc("tsbpf_exec_event").size + fn.length + args.length;
  const xdv = record(
    "tsbpf_exec_event",
    {
      hdr: hdr(EV.EXEC, xSize),
      old_pid: 100,
      argc: 1,
      filename_len: fn.length,
      args_len: args.length,
    },
    new Uint8Array([...fn, ...args]),
  );
  const x = d.decode(xdv, 8, xdv.byteLength - 8) as ExecEvent;
  assert.equal([x.exec_id, x.parent_exec_id], ["table:100", "table:50"]);
  // pid reuse: entries of earlier processes with those pids (other start times).
  entries.set(100, { ppid: 50, parent_exec_id: "", exec_id: "table:100", start_ticks: 7 });
  entries.set(50, { ppid: 1, parent_exec_id: "", exec_id: "table:50", start_ticks: 8 });
  assert.equal([exit().exec_id, exit().parent_exec_id], ["100-123", "50-45"]);
});

test("fork: common fields are the parent's, child ids from the header", () => {
  const ev = decodeAt(
    record("tsbpf_fork_event", {
      hdr: hdr(EV.FORK, 0, { pid: 200, tid: 200, ppid: 50 }),
      parent_pid: 50,
      parent_tid: 51,
    }),
  ) as ForkEvent;
  assert.is(ev.event, "fork");
  assert.is(ev.pid, 50);
  assert.is(ev.tid, 51);
  assert.is(ev.ppid, 1);
  assert.is(ev.child_pid, 200);
  assert.is(ev.thread, false);
  assert.is(ev.exec_id, "50-45");
  assert.is(ev.parent_exec_id, "1-0");
  assert.is(ev.child_exec_id, "200-123");
  const th = decodeAt(
    record("tsbpf_fork_event", { hdr: hdr(EV.THREAD, 0, { tid: 101 }), parent_pid: 100, parent_tid: 100 }),
  ) as ForkEvent;
  assert.is(th.thread, true);
  assert.is(th.child_tid, 101);
  assert.is(th.exec_id, "100-123");
});

test("u64 fields past 2^53 (uptime over 104 days) decode exactly, like the small ones", () => {
  const exitAt = (h: Record<string, bigint>, lifetime: bigint) =>
    decodeAt(
      record("tsbpf_exit_event", {
        hdr: hdr(EV.EXIT, enc("tsbpf_exit_event").size, h),
        lifetime_ns: lifetime,
        status: 0,
        flags: 0,
        exit_signal: 17,
        _reserved: 0,
      }),
    ) as ExitEvent;
  // The ISO time of a boot-relative timestamp, to the µs (the decoder's boot offset).
  const isoAt = (bootNs: bigint) => {
    const us = (1_700_000_000_000_000_000n + bootNs) / 1000n;
    const iso = new Date(Number(us / 1000n)).toISOString();
    return `${iso.slice(0, -1)}${String(us % 1000n).padStart(3, "0")}Z`;
  };
  const big = 2n ** 53n + 123_456_789n; // ns since boot, ~104 days
  const e = exitAt({ ts_boot_ns: big, exec_id: big - 7n, cgroup_id: 2n ** 60n }, 2n ** 54n);
  assert.is(e.time, isoAt(big));
  assert.is(e.exec_id, `100-${(big - 7n) / 10_000_000n}`);
  assert.is(e.cgroup_id, Number(2n ** 60n));
  assert.is(e.lifetime_ns, Number(2n ** 54n));
  // Just below 2^53: the Number path, same rounding rules.
  const small = 2n ** 53n - 1n;
  const f = exitAt({ ts_boot_ns: small, exec_id: small }, 1n);
  assert.is(f.time, isoAt(small));
  assert.is(f.exec_id, `100-${small / 10_000_000n}`);
});

test("comm: cached names stay right when records alternate (same slot or not)", () => {
  const names = ["worker", "bash", "a", "x\u00e9y", "", "fifteen-chars-x", "worker2"];
  for (let round = 0; round < 3; round++)
    for (const n of names) {
      const ev = decodeAt(
        record("tsbpf_exit_event", {
          hdr: hdr(EV.EXIT, enc("tsbpf_exit_event").size, { comm: comm(n) }),
          lifetime_ns: 1n,
          status: 0,
          flags: 0,
          exit_signal: 17,
          _reserved: 0,
        }),
      );
      assert.is(ev?.comm, n);
    }
});

test("exec_failed: errno name and filename", () => {
  const tail = new TextEncoder().encode("/nope\0");
  const ev = decodeAt(
    record(
      "tsbpf_exec_failed_event",
      { hdr: hdr(EV.EXEC_FAILED, 0), error: 2, dfd: -100, filename_len: 6 },
      tail,
    ),
  ) as ExecFailedEvent;
  assert.is(ev.filename, "/nope");
  assert.is(ev.errno, 2);
  assert.is(ev.error, "ENOENT");
});

test("short, inconsistent and unknown records are skipped, never thrown", () => {
  assert.is(dec.decode(new DataView(new ArrayBuffer(20)), 0, 20), undefined);
  const bad = record("tsbpf_exec_event", { hdr: hdr(EV.EXEC, 0), filename_len: 5000, args_len: 10 });
  assert.is(decodeAt(bad), undefined);
  assert.is(decodeAt(record("tsbpf_exit_event", { hdr: hdr(99, 0) })), undefined);
});

test("rodata and program selection follow the options", () => {
  const r = rodataFor({ failed: true, maxArgsBytes: 100, uid: 0, rootPids: [] });
  assert.is(r.trace_failed_exec, true);
  assert.is(r.max_args_bytes, 100);
  assert.is(r.targ_uid, 0);
  assert.is(r.filter_descendants, true);
  assert.is(rodataFor({}).targ_uid, 0xffffffff);
  assert.is(rodataFor({}).filter_descendants, false);
  const names = (o: { failed?: boolean }) =>
    programsFor(spec, o)
      .programs.map((p) => p.name)
      .sort();
  assert.equal(names({}), ["handle_exec", "handle_exit", "handle_fork"]);
  assert.is(names({ failed: true }).length, 7);
});

test.run();
