// Child process for eventloop.test.ts: waits on an empty ring through records(),
// closes the reader from a timer, prints how long the wait took to end, and must then
// exit on its own (no pending pool call, timer or fd may keep it alive).
import { BpfMap } from "../../src/maps/map.ts";
import { RingBufReader } from "../../src/ringbuf/reader.ts";
import { BPF_MAP_TYPE } from "../../src/uapi.ts";

const map = BpfMap.create({
  name: "rb_child",
  type: BPF_MAP_TYPE.RINGBUF,
  typeName: "ringbuf",
  keySize: 0,
  valueSize: 0,
  maxEntries: 4096,
  flags: 0,
  numaNode: 0,
  mapExtra: 0n,
  pinning: "none",
  btfKeyTypeId: 0,
  btfValueTypeId: 0,
});
const reader = new RingBufReader(map);
let closedAt = 0n;
setTimeout(() => {
  closedAt = process.hrtime.bigint();
  reader.close();
}, 300);
let n = 0;
for await (const _ of reader.records()) n++;
const ms = Number(process.hrtime.bigint() - closedAt) / 1e6;
map.close();
console.log(JSON.stringify({ records: n, closeMs: ms }));
