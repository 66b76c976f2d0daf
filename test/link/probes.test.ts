// kprobe, kretprobe, kprobe.multi, kretprobe.multi, ksyscall, uprobe and uretprobe on
// the real kernel, each proven by events: probes.bpf.o counts getppid(2) calls of this
// process, made N times through process.ppid (node's uv_os_getppid -> libc getppid ->
// __x64_sys_getppid). Where the kernel lacks a feature (the development kernel has no
// kprobes; 6.1 has no kprobe.multi) the test asserts the typed NotSupportedError
// instead, so the same file runs on the host and in every kernel-matrix guest.
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { AttachError, type Link, NotSupportedError } from "../../src/link/link.ts";
import { loadCollection } from "../../src/loader/collection.ts";
import { privileged, ROOT_DIR } from "../helpers/env.ts";

const OBJ = join(ROOT_DIR, "test/fixtures/probes.bpf.o");
const N = 17;
const haveKprobes = existsSync("/sys/bus/event_source/devices/kprobe/type");

/** CONFIG_FPROBE (kprobe.multi links) from the kernel's config, when it can be read. */
function kernelConfig(): string {
  try {
    return readFileSync(`/boot/config-${readFileSync("/proc/sys/kernel/osrelease", "utf8").trim()}`, "utf8");
  } catch {
    try {
      return gunzipSync(readFileSync("/proc/config.gz")).toString("latin1");
    } catch {
      return "";
    }
  }
}
const haveFprobe = /^CONFIG_FPROBE=y$/m.test(kernelConfig());

function callGetppid(n: number): number {
  let ppid = 0;
  for (let i = 0; i < n; i++) ppid = process.ppid;
  return ppid;
}

async function withProbes(fn: (c: Awaited<ReturnType<typeof loadCollection>>) => void): Promise<void> {
  const coll = await loadCollection(OBJ, { rodata: { target_tgid: process.pid } });
  try {
    fn(coll);
  } finally {
    coll.close();
  }
}

/** Attaches `program`, makes N getppid calls, detaches; returns counts[slot]'s growth. */
function countWhileAttached(
  coll: Awaited<ReturnType<typeof loadCollection>>,
  program: string,
  slot: number,
  opts = {},
): { delta: bigint; link: Link } {
  const counts = coll.maps.counts;
  const before = counts?.lookup(slot) as bigint;
  const link = coll.programs[program]?.attach(opts) as Link;
  try {
    callGetppid(N);
  } finally {
    link.close();
  }
  const after = counts?.lookup(slot) as bigint;
  // Detached: further calls are not counted.
  callGetppid(3);
  assert.is(counts?.lookup(slot), after, `${program}: no events after detach`);
  return { delta: after - before, link };
}

test("kprobe and kretprobe on __x64_sys_getppid count exactly this process's calls", async () => {
  if (!privileged("kprobe")) return;
  await withProbes((coll) => {
    if (!haveKprobes) {
      assert.throws(
        () => coll.programs.kp_getppid?.attach(),
        (e: Error) =>
          e instanceof NotSupportedError &&
          e.feature === "kprobe" &&
          e.message.includes("kprobes are not available on this kernel") &&
          e.message.includes("kp_getppid"),
      );
      return;
    }
    const kp = countWhileAttached(coll, "kp_getppid", 0);
    assert.is(kp.delta, BigInt(N));
    assert.is(kp.link.kind, "kprobe");
    assert.is(kp.link.target, "__x64_sys_getppid");
    const krp = countWhileAttached(coll, "krp_getppid", 1);
    assert.is(krp.delta, BigInt(N));
    assert.is(krp.link.kind, "kretprobe");
    assert.is(
      (coll.globals.bss as { rets: bigint[] }).rets[1],
      BigInt(process.ppid),
      "kretprobe saw getppid's return value",
    );
  });
});

test("ksyscall/getppid attaches to the arch's syscall function", async () => {
  if (!privileged("ksyscall")) return;
  await withProbes((coll) => {
    if (!haveKprobes) {
      assert.throws(
        () => coll.programs.ks_getppid?.attach(),
        (e: Error) => e instanceof NotSupportedError,
      );
      return;
    }
    const ks = countWhileAttached(coll, "ks_getppid", 4);
    assert.is(ks.delta, BigInt(N));
    assert.is(ks.link.target, "__x64_sys_getppid");
  });
});

test("kprobe with an offset, and errors naming the function", async () => {
  if (!privileged("kprobe offset")) return;
  await withProbes((coll) => {
    if (!haveKprobes) return;
    // A non-zero offset lands inside the function: on an instruction boundary it fires,
    // elsewhere the kernel refuses (EILSEQ). The entry is a 4-byte endbr64 on IBT builds,
    // then a 5-byte call to __fentry__ where ftrace is built in: try the boundaries after
    // those.
    let fired = false;
    for (const offset of [9, 5, 4]) {
      try {
        const r = countWhileAttached(coll, "kp_getppid", 0, { offset });
        assert.is(r.link.target, `__x64_sys_getppid+0x${offset.toString(16)}`);
        assert.is(r.delta, BigInt(N));
        fired = true;
        break;
      } catch (e) {
        if (!(e instanceof AttachError)) throw e;
      }
    }
    assert.ok(fired, "a kprobe at an instruction boundary inside the function fired");
    assert.throws(
      () => coll.programs.kp_getppid?.attach({ target: "tsbpf_no_such_function" }),
      (e: Error) => e instanceof AttachError && e.message.includes("tsbpf_no_such_function"),
    );
  });
});

test("kprobe.multi (a glob) and kretprobe.multi count this process's calls, or NotSupportedError", async () => {
  if (!privileged("kprobe.multi")) return;
  await withProbes((coll) => {
    if (!haveKprobes || !haveFprobe) {
      assert.throws(
        () => coll.programs.kpm_getppid?.attach({ target: "__x64_sys_getppid" }),
        (e: Error) =>
          e instanceof NotSupportedError && e.feature === "kprobe_multi" && e.message.includes("5.18"),
      );
      return;
    }
    const m = countWhileAttached(coll, "kpm_getppid", 2);
    assert.is(m.delta, BigInt(N));
    assert.is(m.link.kind, "kprobe_multi");
    assert.is(m.link.target, "__do_sys_getpp*");
    const r = countWhileAttached(coll, "krpm_getppid", 3);
    assert.is(r.delta, BigInt(N));
    assert.throws(
      () => coll.programs.kpm_getppid?.attach({ target: "tsbpf_no_such_fn_*" }),
      (e: Error) => e instanceof AttachError && e.message.includes("no kernel function matches"),
    );
  });
});

test("uprobe on libc's getppid by library name, with a pid filter and a bpf_cookie", async () => {
  if (!privileged("uprobe")) return;
  await withProbes((coll) => {
    const r = countWhileAttached(coll, "up_manual", 5, {
      binary: "libc.so.6",
      symbol: "getppid",
      pid: process.pid,
      cookie: 0xc0ffeen,
    });
    assert.is(r.delta, BigInt(N));
    assert.is(r.link.kind, "uprobe");
    assert.match(r.link.target, /libc\.so\.6:getppid pid \d+$/);
    assert.is(coll.globals.bss?.cookie_seen, 0xc0ffeen);
  });
});

test("uretprobe on the node executable's uv_os_getppid sees the return value", async () => {
  if (!privileged("uretprobe")) return;
  await withProbes((coll) => {
    const node = realpathSync(process.execPath);
    const r = countWhileAttached(coll, "urp_manual", 6, { binary: node, symbol: "uv_os_getppid" });
    assert.is(r.delta, BigInt(N));
    assert.is(r.link.kind, "uretprobe");
    assert.is((coll.globals.bss as { rets: bigint[] }).rets[6], BigInt(process.ppid));
  });
});

test('SEC("uprobe/libc.so.6:getppid") attaches from its section name alone', async () => {
  if (!privileged("uprobe SEC")) return;
  await withProbes((coll) => {
    const r = countWhileAttached(coll, "up_libc", 7);
    assert.is(r.delta, BigInt(N));
    assert.match(r.link.target, /libc\.so\.6:getppid$/);
  });
});

test("a uprobe with no target, or a missing symbol, says what is missing", async () => {
  if (!privileged("uprobe errors")) return;
  await withProbes((coll) => {
    assert.throws(
      () => coll.programs.up_manual?.attach(),
      (e: Error) =>
        e instanceof AttachError &&
        e.message.includes("does not say where to attach") &&
        e.message.includes("up_manual"),
    );
    assert.throws(
      () => coll.programs.up_manual?.attach({ binary: "libc.so.6", symbol: "tsbpf_no_such_symbol" }),
      (e: Error) =>
        e instanceof AttachError && e.message.includes("no function symbol 'tsbpf_no_such_symbol'"),
    );
    assert.throws(
      () => coll.programs.up_manual?.attach({ binary: "tsbpf-no-such-binary", symbol: "main" }),
      (e: Error) => e instanceof AttachError && e.message.includes("cannot find 'tsbpf-no-such-binary'"),
    );
  });
});

test.run();
