// Child of test/loader/core-cache.test.ts: loads process.bpf.o with the CO-RE cache
// in a fresh process and prints whether vmlinux BTF was parsed and, per program, the
// kernel's tag (a hash of the instructions as loaded, map fds left out) and attach_btf_id.
import { readObjectFile } from "../../../src/binary/assets.ts";
import { BtfCache } from "../../../src/btf/kernel.ts";
import { readCollectionSpec } from "../../../src/elf/collection.ts";
import { loadCollection } from "../../../src/loader/collection.ts";

const obj = readObjectFile("process.bpf.o");
const spec = readCollectionSpec(obj.bytes, obj.path);
const btfCache = new BtfCache();
const coll = await loadCollection(spec, { maps: { scratch: { maxEntries: 2 } }, coreCache: true, btfCache });
const progs: Record<string, string> = {};
for (const [name, p] of Object.entries(coll.programs)) {
  const i = p.info();
  progs[name] = `${i.tag} ${i.attach_btf_id}`;
}
process.stdout.write(`${JSON.stringify({ parsedVmlinux: btfCache.parsedKernel() !== undefined, progs })}\n`);
coll.close();
