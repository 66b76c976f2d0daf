// findByNameKind answers its first lookups with a kind-filtered byte scan (no name
// index) and later ones from the index: both must give the same ids.
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Btf } from "../../src/btf/btf.ts";
import type { BtfKindName } from "../../src/btf/types.ts";

const VMLINUX = "/sys/kernel/btf/vmlinux";
const bytes = new Uint8Array(readFileSync(VMLINUX));

const queries: [string, BtfKindName][] = [
  ["task_struct", "struct"],
  ["btf_trace_sched_process_fork", "typedef"],
  ["btf_trace_sched_process_exit", "typedef"],
  ["do_exit", "func"],
  ["pid_type", "enum"],
  ["int", "int"],
  ["task_struct", "typedef"], // a name that exists, with a kind it does not have
  ["tsbpf_no_such_type", "struct"],
  ["task_struc", "struct"], // a prefix of a real name
  ["", "struct"],
];

test("scan (first lookups) and name index (later lookups) agree on vmlinux", () => {
  const scanned = Btf.parse(bytes, { name: VMLINUX });
  const viaScan = queries.map(([n, k]) => scanned.findByNameKind(n, k));
  const indexed = Btf.parse(bytes, { name: VMLINUX });
  indexed.findByName("task_struct"); // builds the index
  const viaIndex = queries.map(([n, k]) => indexed.findByNameKind(n, k));
  assert.equal(viaScan, viaIndex);
  assert.is(viaScan[0]?.length, 1);
  assert.is(viaScan[1]?.length, 1);
  assert.equal(viaScan[6], []);
  assert.equal(viaScan[7], []);
  assert.equal(viaScan[8], []);
  for (const ids of viaScan) for (const id of ids) assert.ok(scanned.nameOf(id) !== "");
});

test("past the scan budget the index answers, with the same result", () => {
  const b = Btf.parse(bytes, { name: VMLINUX });
  const first = b.findByNameKind("task_struct", "struct");
  for (let i = 0; i < 40; i++) assert.equal(b.findByNameKind("task_struct", "struct"), first);
});

test.run();
