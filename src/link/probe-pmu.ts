// The dynamic PMUs that create kprobes and uprobes from perf_event_open (Linux 4.17+):
// /sys/bus/event_source/devices/{kprobe,uprobe}/type is the perf type number, and
// format/retprobe says which config bit asks for a return probe ("config:0").
import { readFileSync } from "node:fs";

export interface ProbePmu {
  type: number;
  retprobeBit: number;
}

const DEVICES = "/sys/bus/event_source/devices";

/** The kprobe or uprobe PMU, or undefined when this kernel has none. */
export function probePmu(kind: "kprobe" | "uprobe"): ProbePmu | undefined {
  let type: number;
  try {
    type = Number.parseInt(readFileSync(`${DEVICES}/${kind}/type`, "utf8"), 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(type)) return undefined;
  let retprobeBit = 0;
  try {
    const m = /^config:(\d+)/.exec(readFileSync(`${DEVICES}/${kind}/format/retprobe`, "utf8").trim());
    if (m) retprobeBit = Number(m[1]);
  } catch {
    // Kernels with the PMU but no format file use bit 0 (PERF_PROBE_CONFIG_IS_RETPROBE).
  }
  return { type, retprobeBit };
}
