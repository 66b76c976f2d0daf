/**
 * `tsbpf/ringbuf`: consumers of what BPF programs send to user space: the BPF ring
 * buffer (BPF_MAP_TYPE_RINGBUF, Linux 5.8+) read from shared memory, the per-CPU perf
 * event array for older kernels, and openEventReader() to pick one.
 * @packageDocumentation
 */

export {
  type BatchOptions,
  type Decoder,
  EventReaderBase,
  type RawCallback,
  type RecordsOptions,
  RingBufError,
} from "../events/base.ts";
export { PerfReader, type PerfReaderOptions } from "../perf/reader.ts";
export type { ConsumeLoop, ConsumeLoopFactory, ConsumeLoopState } from "./consume-loop.ts";
export { LossCounter } from "./loss.ts";
export { type OpenEventReaderOptions, openEventReader } from "./open.ts";
export {
  type BatchCallback,
  RingBufReader,
  type RingBufReaderOptions,
  type RingBufSource,
} from "./reader.ts";
