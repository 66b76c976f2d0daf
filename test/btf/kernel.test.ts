// BtfCache.kernel(): the running kernel's vmlinux BTF, mapped read-only where the kernel
// allows it (Linux 6.16+) and read otherwise. Whatever the path, the bytes must be the
// file's, and a clear() followed by a new kernel() must give the same BTF again.
// Reading /sys/kernel/btf/vmlinux needs no privileges.
import { existsSync, readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { BtfCache } from "../../src/btf/kernel.ts";
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
  const cache = new BtfCache();
  const btf = cache.kernel();
  assert.is(btf.raw.length, file.length);
  assert.ok(Buffer.compare(btf.raw, file) === 0, "mapped/read bytes differ from read(2)");
  assert.is(btf.findByNameKind("task_struct", "struct").length, 1);
  assert.is(cache.parsedKernel(), btf);
  assert.is(cache.kernel(), btf, "parsed once per cache");
  assert.is.not(new BtfCache().kernel(), btf, "another cache parses its own");
});

test("clear then kernel() again parses the same BTF", () => {
  if (!haveVmlinux()) return;
  const cache = new BtfCache();
  const a = cache.kernel();
  const id = a.findByNameKind("task_struct", "struct")[0] as number;
  const size = (a.type(id) as { size: number }).size;
  cache.clear();
  assert.is(cache.parsedKernel(), undefined);
  const b = cache.kernel();
  assert.is.not(b, a);
  assert.is(b.length, a.length);
  assert.is(b.findByNameKind("task_struct", "struct")[0], id);
  assert.is((b.type(id) as { size: number }).size, size);
  // The old object stays usable: its bytes were not unmapped.
  assert.is(a.nameOf(id), "task_struct");
});

test.run();
