// Possible CPUs, as the kernel counts them for per-CPU maps and perf_event_array
// (num_possible_cpus(); libbpf reads the same file).
import { readFileSync } from "node:fs";
import { TsbpfError } from "../errors.ts";

const POSSIBLE = "/sys/devices/system/cpu/possible";

/** Parse a CPU list such as "0-3,5,7-8" into CPU numbers. */
export function parseCpuList(text: string, where = POSSIBLE): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(",")) {
    if (part === "") continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m)
      throw new TsbpfError(`cannot parse CPU list "${text.trim()}" from ${where}: expected e.g. "0-3,5"`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

/**
 * CPU numbers the kernel considers possible. Read at each call (one small sysfs read):
 * callers that need it often keep the answer (a per-CPU map keeps its slot count).
 */
export function possibleCpus(): number[] {
  let text: string;
  try {
    text = readFileSync(POSSIBLE, "utf8");
  } catch (e) {
    throw new TsbpfError(`cannot read ${POSSIBLE}: ${(e as Error).message}`);
  }
  return parseCpuList(text);
}

/** Number of possible CPUs: highest possible CPU + 1, the per-CPU slot count. */
export function numPossibleCpus(): number {
  const cpus = possibleCpus();
  return cpus.length ? Math.max(...cpus) + 1 : 1;
}
