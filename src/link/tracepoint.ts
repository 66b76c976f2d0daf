// Classic tracepoints: perf_event_open(PERF_TYPE_TRACEPOINT, config = the event id
// from <tracefs>/events/<category>/<name>/id, pid -1, cpu 0), then the program on that
// perf event (perf-event.ts).
// With pid -1 and cpu 0 the program still sees events from every CPU: the BPF program
// hangs off the tracepoint, not the per-CPU perf buffer (see /work/shared/PLATFORM.md).
import { readFileSync } from "node:fs";
import type { FeatureProbes } from "../sys/features.ts";
import { mountIfAbsent, mountPointsOf } from "../sys/fs.ts";
import { PERF_FLAG_FD_CLOEXEC, PERF_TYPE_TRACEPOINT, perfEventOpen } from "../sys/perf.ts";
import { AttachError, type Link } from "./link.ts";
import { attachPerfEventFd } from "./perf-event.ts";

/** Directory holding events/ of tracefs, mounting tracefs when nothing provides it. */
export function tracefsRoot(): string {
  const mounted = mountPointsOf("tracefs");
  if (mounted.includes("/sys/kernel/tracing")) return "/sys/kernel/tracing";
  if (mounted.length > 0) return mounted[0] as string;
  // Old layout: debugfs with tracing inside.
  if (mountPointsOf("debugfs").includes("/sys/kernel/debug")) {
    try {
      readFileSync("/sys/kernel/debug/tracing/events/header_page");
      return "/sys/kernel/debug/tracing";
    } catch {
      // fall through and mount tracefs
    }
  }
  return mountIfAbsent("tracefs");
}

/** The perf event id of tracepoint "category/name". */
export function tracepointId(target: string): number {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(target);
  if (!m)
    throw new AttachError(
      `tracepoint '${target}' must be written category/name, e.g. sched/sched_process_exec`,
    );
  const root = tracefsRoot();
  const path = `${root}/events/${m[1]}/${m[2]}/id`;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new AttachError(
        `no such tracepoint ${target} (${path} does not exist; see ${root}/available_events)`,
      );
    // tracefs is mounted mode 0700 root (fs/tracefs/inode.c TRACEFS_DEFAULT_MODE): a
    // non-root process needs CAP_DAC_READ_SEARCH to read an id, whatever else it holds.
    const hint =
      code === "EACCES" || code === "EPERM"
        ? ` (tracefs is readable by root only: needs root, or CAP_DAC_READ_SEARCH)`
        : "";
    throw new AttachError(`cannot read ${path} for tracepoint ${target}: ${code ?? String(e)}${hint}`);
  }
  const id = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(id) || id < 0)
    throw new AttachError(`${path}: expected a tracepoint id, got '${text.trim()}'`);
  return id;
}

export function attachTracepoint(
  progFd: number,
  program: string,
  target: string,
  cookie?: bigint,
  features?: FeatureProbes,
): Link {
  const id = tracepointId(target);
  const pfd = perfEventOpen(
    { type: PERF_TYPE_TRACEPOINT, config: id },
    -1,
    0,
    -1,
    PERF_FLAG_FD_CLOEXEC,
    `tracepoint ${target}`,
  );
  return attachPerfEventFd(progFd, pfd, { kind: "tracepoint", program, target, cookie, features });
}
