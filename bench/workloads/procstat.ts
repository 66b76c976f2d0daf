// CPU time and memory of a tracer's process tree, read from /proc (proc(5)):
// utime+stime are fields 14 and 15 of /proc/<pid>/stat in clock ticks (USER_HZ=100
// on Linux x86_64) and cover every thread of the process; VmHWM/VmRSS come from
// /proc/<pid>/status in kB. Descendants are found through
// /proc/<pid>/task/<tid>/children (CONFIG_PROC_CHILDREN), so a tracer that forks
// helpers (or a wrapper like stdbuf that execs) is measured as a whole.
import { existsSync, readdirSync, readFileSync } from "node:fs";

const USER_HZ = 100;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined; // the process exited between listing and reading
  }
}

/** pid and all its live descendants. */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift() as number;
    if (!existsSync(`/proc/${p}`)) continue;
    out.push(p);
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${p}/task`);
    } catch {}
    for (const t of tids) {
      const kids = read(`/proc/${p}/task/${t}/children`) ?? "";
      for (const k of kids.split(" ")) if (k.trim()) queue.push(Number(k));
    }
  }
  return out;
}

/** CPU seconds (user+system, all threads) consumed so far by one process. */
export function cpuSeconds(pid: number): number {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return 0;
  // comm (field 2) may contain spaces and parentheses: split after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state), so field N is rest[N - 3].
  return (Number(rest[11]) + Number(rest[12])) / USER_HZ;
}

function statusKb(pid: number, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(read(`/proc/${pid}/status`) ?? "");
  return m ? Number(m[1]) : 0;
}

/** One field of /proc/<pid>/smaps_rollup (proc(5)), kB; 0 when it cannot be read. */
function rollupKb(pid: number, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(read(`/proc/${pid}/smaps_rollup`) ?? "");
  return m ? Number(m[1]) : 0;
}

export interface TreeSample {
  cpuS: number;
  /** sum over the tree's processes of VmHWM (peak RSS), kB */
  hwmKb: number;
  /** sum of VmRSS, kB */
  rssKb: number;
  /**
   * Sum of Pss (proportional set size): each shared page divided by the number of
   * processes mapping it, so the file pages of a binary that other processes (or the
   * page cache alone) share count only in part. kB.
   */
  pssKb: number;
  /** Sum of USS (Private_Clean + Private_Dirty): what ending the process would free. kB */
  ussKb: number;
  /** Sum of RssAnon: heap, stacks and other anonymous memory, no file pages. kB */
  anonKb: number;
}

export function sampleTree(pids: number[]): TreeSample {
  const all = new Set<number>();
  for (const p of pids) for (const q of processTree(p)) all.add(q);
  let cpuS = 0;
  let hwmKb = 0;
  let rssKb = 0;
  let pssKb = 0;
  let ussKb = 0;
  let anonKb = 0;
  for (const p of all) {
    cpuS += cpuSeconds(p);
    hwmKb += statusKb(p, "VmHWM");
    rssKb += statusKb(p, "VmRSS");
    anonKb += statusKb(p, "RssAnon");
    pssKb += rollupKb(p, "Pss");
    ussKb += rollupKb(p, "Private_Clean") + rollupKb(p, "Private_Dirty");
  }
  return { cpuS, hwmKb, rssKb, pssKb, ussKb, anonKb };
}
