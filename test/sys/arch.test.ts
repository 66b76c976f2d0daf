// Syscall numbers come from a per-architecture table; any other architecture gets one
// clear error (not a wrong syscall). Oracle for x86-64: the kernel's syscall_64.tbl via
// the numbers every x86-64 libc uses; arm64: asm-generic/unistd.h.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { archSyscalls, UnsupportedArchError } from "../../src/sys/arch.ts";
import { SYS_bpf, SYS_perf_event_open } from "../../src/sys/libc.ts";

test("x86-64 and arm64 numbers", () => {
  assert.equal(archSyscalls("x64"), { bpf: 321, perf_event_open: 298 });
  assert.equal(archSyscalls("arm64"), { bpf: 280, perf_event_open: 241 });
});

test("this machine's numbers are the table's", () => {
  assert.is(SYS_bpf, archSyscalls().bpf);
  assert.is(SYS_perf_event_open, archSyscalls().perf_event_open);
});

test("an unknown architecture is one clear error", () => {
  assert.throws(
    () => archSyscalls("riscv64"),
    (e: Error) =>
      e instanceof UnsupportedArchError &&
      /does not know the bpf\(2\) syscall number on riscv64 \(supported: x64, arm64\)/.test(e.message),
  );
});

test.run();
