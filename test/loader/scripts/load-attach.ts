// Child for test/loader/leak.test.ts: loads attach.bpf.o with its programs renamed to
// argv[2] + index, attaches them all, prints "ready" and waits to be killed.
import { readFileSync } from "node:fs";
import { readCollectionSpec } from "../../../src/elf/collection.ts";
import { loadCollection } from "../../../src/loader/collection.ts";

const prefix = process.argv[2] ?? "tsleak";
const spec = readCollectionSpec(readFileSync("test/fixtures/attach.bpf.o"), "test/fixtures/attach.bpf.o");
spec.programs.forEach((p, i) => {
  p.name = `${prefix}${i}`;
});
const coll = await loadCollection(spec);
for (const p of Object.values(coll.programs)) p.attach();
process.stdout.write("ready\n");
setInterval(() => {}, 1 << 30);
