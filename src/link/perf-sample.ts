// perf_event programs (SEC("perf_event")): one perf event per CPU (a software clock, a hardware counter, or
// any type/config perf_event_open takes), sampling at a frequency or a period, and the
// program run on every sample: BPF_LINK_CREATE with attach_type BPF_PERF_EVENT (5.15+),
// or PERF_EVENT_IOC_SET_BPF + PERF_EVENT_IOC_ENABLE before that. One Link holds every
// CPU's event; pinned, it becomes a directory with one link per CPU.
import { readFileSync } from "node:fs";
import { closeFd, linkCreate } from "../sys/bpf.ts";
import { parseCpuList } from "../sys/cpus.ts";
import { probe } from "../sys/features.ts";
import {
  ioctl,
  PERF_COUNT_SW_CPU_CLOCK,
  PERF_EVENT_IOC_ENABLE,
  PERF_EVENT_IOC_SET_BPF,
  PERF_FLAG_FD_CLOEXEC,
  PERF_TYPE_HARDWARE,
  PERF_TYPE_SOFTWARE,
  perfEventOpen,
} from "../sys/perf.ts";
import { BPF_ATTACH_TYPE } from "../uapi.ts";
import { AttachError, Link } from "./link.ts";

/** Named events (perf list names); anything else as { type, config }. */
export const PERF_EVENTS = {
  "cpu-clock": { type: PERF_TYPE_SOFTWARE, config: PERF_COUNT_SW_CPU_CLOCK },
  "task-clock": { type: PERF_TYPE_SOFTWARE, config: 1 },
  "page-faults": { type: PERF_TYPE_SOFTWARE, config: 2 },
  "context-switches": { type: PERF_TYPE_SOFTWARE, config: 3 },
  "cpu-migrations": { type: PERF_TYPE_SOFTWARE, config: 4 },
  cycles: { type: PERF_TYPE_HARDWARE, config: 0 },
  instructions: { type: PERF_TYPE_HARDWARE, config: 1 },
} as const;

export interface PerfSamplingOptions {
  /** Default "cpu-clock". */
  event?: keyof typeof PERF_EVENTS | { type: number; config: number | bigint };
  /** Samples per second (default 99 when no period is given). */
  frequency?: number;
  /** One sample every N events (N ns for the clocks). */
  period?: number | bigint;
  /** CPUs to sample on (default: every online CPU). */
  cpus?: number[];
  /** Only this process (default -1: everything on the CPU). */
  pid?: number;
}

const ONLINE = "/sys/devices/system/cpu/online";

export function onlineCpus(): number[] {
  return parseCpuList(readFileSync(ONLINE, "utf8"), ONLINE);
}

export function attachPerfSampling(progFd: number, program: string, opts: PerfSamplingOptions = {}): Link {
  const e = opts.event ?? "cpu-clock";
  const name = typeof e === "string" ? e : undefined;
  const ev: { type: number; config: number | bigint } | undefined =
    typeof e === "string" ? PERF_EVENTS[e] : e;
  if (!ev)
    throw new AttachError(
      `unknown perf event '${String(e)}' (known: ${Object.keys(PERF_EVENTS).join(", ")})`,
    );
  if (opts.frequency !== undefined && opts.period !== undefined)
    throw new AttachError("perf_event: give a frequency or a period, not both");
  const freq = opts.period === undefined ? (opts.frequency ?? 99) : undefined;
  if (freq !== undefined && (!Number.isInteger(freq) || freq <= 0))
    throw new AttachError(`perf_event: frequency ${freq} is not a positive integer`);
  const cpus = opts.cpus ?? onlineCpus();
  if (cpus.length === 0) throw new AttachError("perf_event: no CPUs to attach to");
  const what = name ?? `type ${ev.type} config ${ev.config}`;
  const target = `${what} ${freq !== undefined ? `at ${freq} Hz` : `every ${opts.period}`} on CPU ${cpus.join(",")}`;
  const useLink = probe("link_create_perf_event");
  const events: number[] = [];
  const links: number[] = [];
  try {
    for (const cpu of cpus) {
      const pfd = perfEventOpen(
        {
          type: ev.type,
          config: ev.config,
          sample_freq: freq,
          sample_period: opts.period,
          flags: { freq: freq !== undefined },
        },
        opts.pid ?? -1,
        cpu,
        -1,
        PERF_FLAG_FD_CLOEXEC,
        `perf event ${what} on CPU ${cpu}`,
      );
      events.push(pfd);
      if (useLink) {
        links.push(
          linkCreate(
            { prog_fd: progFd, target_fd: pfd, attach_type: BPF_ATTACH_TYPE.BPF_PERF_EVENT },
            `perf event ${what} on CPU ${cpu}`,
          ),
        );
      } else {
        ioctl(pfd, PERF_EVENT_IOC_SET_BPF, progFd, `perf event on CPU ${cpu}`);
        ioctl(pfd, PERF_EVENT_IOC_ENABLE, 0, `perf event on CPU ${cpu}`);
      }
    }
  } catch (e) {
    for (const fd of [...links, ...events]) closeFd(fd);
    throw e;
  }
  const pinNames = cpus.map((c) => `cpu${c}`);
  if (useLink)
    return new Link({
      fd: links[0] as number,
      more: links.slice(1),
      owned: events,
      kind: "perf_event",
      program,
      target,
      isBpfLink: true,
      pinNames,
    });
  return new Link({
    fd: events[0] as number,
    more: events.slice(1),
    kind: "perf_event",
    program,
    target,
    isBpfLink: false,
    method: "perf_ioctl",
    pinNames,
  });
}
