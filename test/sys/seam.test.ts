// The syscall seam (src/sys/syscalls.ts): every call src/sys makes goes through the
// Syscalls in use, a fake injected with overrideSyscalls() sees them all and never
// falls through to the real kernel, and restoring puts libc back. Runs unprivileged:
// nothing here reaches the kernel.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mapCreate } from "../../src/sys/bpf-map.ts";
import { ERRNO, SyscallError } from "../../src/sys/errors.ts";
import { FeatureProbes } from "../../src/sys/features.ts";
import { libcSyscalls } from "../../src/sys/libc.ts";
import { mmap, PROT_READ } from "../../src/sys/mm.ts";
import { overrideSyscalls, SyscallNotProvidedError, sys } from "../../src/sys/syscalls.ts";
import { BPF_MAP_CREATE, BPF_MAP_TYPE } from "../../src/uapi.ts";

test("bpf() goes through the injected Syscalls: its result and its errno", () => {
  const calls: [number, number][] = [];
  let fail = false;
  const restore = overrideSyscalls({
    bpf: (cmd, _attr, size) => {
      calls.push([cmd, size]);
      return fail ? -1 : 1234;
    },
    errno: () => ERRNO.EPERM,
  });
  try {
    const attrs = {
      map_type: BPF_MAP_TYPE.HASH,
      key_size: 4,
      value_size: 8,
      max_entries: 16,
      map_name: "seam",
    };
    assert.is(mapCreate(attrs), 1234);
    fail = true;
    const e = (() => {
      try {
        mapCreate(attrs);
      } catch (err) {
        return err;
      }
    })();
    assert.instance(e, SyscallError);
    assert.is((e as SyscallError).errno, ERRNO.EPERM);
    assert.match((e as Error).message, "BPF_MAP_CREATE");
    assert.match((e as Error).message, "map 'seam'");
    assert.equal(
      calls.map(([cmd]) => cmd),
      [BPF_MAP_CREATE, BPF_MAP_CREATE],
    );
    assert.ok(calls.every(([, size]) => size > 0));
  } finally {
    restore();
  }
});

test("feature probes ask the injected kernel", () => {
  const restore = overrideSyscalls({ bpf: () => 7, close: () => 0, errno: () => 0 });
  try {
    assert.is(new FeatureProbes().has("ringbuf"), true);
  } finally {
    restore();
  }
  const restore2 = overrideSyscalls({ bpf: () => -1, close: () => 0, errno: () => ERRNO.EINVAL });
  try {
    assert.is(new FeatureProbes().has("ringbuf"), false);
  } finally {
    restore2();
  }
});

test("an entry point the fake leaves out throws instead of reaching the kernel", () => {
  const restore = overrideSyscalls({});
  try {
    assert.throws(
      () => mmap(4096, PROT_READ, 1, 3, 0, "probe region"),
      (e: unknown) => {
        return e instanceof SyscallNotProvidedError && /mmap\(\)/.test((e as Error).message);
      },
    );
  } finally {
    restore();
  }
});

test("restore puts back what was in use, also when overrides nest", () => {
  assert.is(sys, libcSyscalls);
  const outer = overrideSyscalls({ errno: () => 1 });
  const inner = overrideSyscalls({ errno: () => 2 });
  assert.is(sys.errno(), 2);
  inner();
  assert.is(sys.errno(), 1);
  outer();
  assert.is(sys, libcSyscalls);
});

test.run();
