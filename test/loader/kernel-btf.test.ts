// kernelBtf(): the running kernel's vmlinux BTF, mapped read-only where the kernel
// allows it (Linux 6.16+) and read otherwise. Whatever the path, the bytes must be the
// file's, and a release followed by a new kernelBtf() must give the same BTF again.
// Reading /sys/kernel/btf/vmlinux needs no privileges.
import { existsSync, readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { cachedKernelBtf, kernelBtf, releaseKernelBtf } from "../../src/loader/kernel-btf.ts";
import { inCI } from "../helpers/env.ts";

const VMLINUX = "/sys/kernel/btf/vmlinux";

function haveVmlinux(): boolean {
  if (existsSync(VMLINUX)) return true;
  assert.ok(!inCI, "CI machines have kernel BTF");
  return false;
}

test("kernelBtf bytes are the file's bytes", () => {
  if (!haveVmlinux()) return;
  const file = new Uint8Array(readFileSync(VMLINUX));
  const btf = kernelBtf();
  assert.is(btf.raw.length, file.length);
  assert.ok(Buffer.compare(btf.raw, file) === 0, "mapped/read bytes differ from read(2)");
  assert.is(btf.findByNameKind("task_struct", "struct").length, 1);
  assert.is(cachedKernelBtf(), btf);
});

test("release then kernelBtf again parses the same BTF", () => {
  if (!haveVmlinux()) return;
  const a = kernelBtf();
  const id = a.findByNameKind("task_struct", "struct")[0] as number;
  const size = (a.type(id) as { size: number }).size;
  releaseKernelBtf();
  assert.is(cachedKernelBtf(), undefined);
  const b = kernelBtf();
  assert.is.not(b, a);
  assert.is(b.length, a.length);
  assert.is(b.findByNameKind("task_struct", "struct")[0], id);
  assert.is((b.type(id) as { size: number }).size, size);
  // The old object stays usable: its bytes were not unmapped.
  assert.is(a.nameOf(id), "task_struct");
});

test.run();
