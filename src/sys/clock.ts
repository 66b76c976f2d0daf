// clock_gettime(2) for the clocks BPF timestamps use. bpf_ktime_get_boot_ns() is
// CLOCK_BOOTTIME (kernel/bpf/helpers.c: ktime_get_boot_fast_ns), which Node does not
// expose (process.hrtime is CLOCK_MONOTONIC, which stops during suspend), so the
// tracer reads it here to turn event timestamps into wall-clock time.
import { sys } from "./syscalls.ts";

/** include/uapi/linux/time.h */
export const CLOCK_REALTIME = 0;
export const CLOCK_MONOTONIC = 1;
export const CLOCK_BOOTTIME = 7;

const ts = new Uint8Array(16);
const tsView = new DataView(ts.buffer);

/** The clock's current value in nanoseconds (struct timespec: i64 tv_sec, i64 tv_nsec). */
export function clockNs(clk: number): bigint {
  if (sys.clock_gettime(clk, ts) !== 0) throw new Error(`clock_gettime(${clk}) failed`);
  return tsView.getBigInt64(0, true) * 1_000_000_000n + tsView.getBigInt64(8, true);
}

/**
 * REALTIME - BOOTTIME in ns: add it to a CLOCK_BOOTTIME timestamp to get ns since the
 * epoch. Read as BOOT, REAL, BOOT and centred, so the error is half the read time.
 */
export function bootToRealtimeOffsetNs(): bigint {
  const b1 = clockNs(CLOCK_BOOTTIME);
  const r = clockNs(CLOCK_REALTIME);
  const b2 = clockNs(CLOCK_BOOTTIME);
  return r - (b1 + b2) / 2n;
}
