// attach(program): picks the attach method from the program's SEC() kind.
import { existsSync } from "node:fs";
import type { ProgramSpec } from "../spec.ts";
import { AttachError, type Link } from "./link.ts";
import { attachRawTracepoint } from "./raw-tracepoint.ts";
import { attachTracepoint } from "./tracepoint.ts";
import { attachTracing } from "./tracing.ts";

/** Options of attach() that any kind of program accepts (each kind reads the ones it knows). */
export interface AttachOptions {
  /** Override the target from SEC(): "sched/sched_process_exec" or a raw tracepoint name. */
  target?: string;
}

/** attach() options of a tracepoint program (SEC("tracepoint/<category>/<name>")). */
export interface TracepointAttachOptions {
  /** Another tracepoint than SEC() names, written category/name: "sched/sched_process_exec". */
  target?: string;
}

/** attach() options of a raw tracepoint program (SEC("raw_tp/<name>")). */
export interface RawTracepointAttachOptions {
  /** Another raw tracepoint than SEC() names: "sys_enter". */
  target?: string;
}

/**
 * attach() options of programs whose target was fixed at load (attach_btf_id): tp_btf,
 * fentry, fexit, fmod_ret, lsm. There is nothing to choose when attaching.
 */
export type BtfAttachOptions = Record<string, never>;

/**
 * attach() options by the program's attach kind (ProgramSpec.attach, from its SEC()
 * name). `Program<K>.attach()` takes `AttachOptionsFor<K>`, so the options a program
 * accepts follow from its kind; kinds not listed take AttachOptions.
 */
export interface AttachOptionsByKind {
  tracepoint: TracepointAttachOptions;
  raw_tracepoint: RawTracepointAttachOptions;
  tp_btf: BtfAttachOptions;
  fentry: BtfAttachOptions;
  fexit: BtfAttachOptions;
  fmod_ret: BtfAttachOptions;
  lsm: BtfAttachOptions;
}

/** The attach() options of a program of kind K (a union of them for a union of kinds). */
export type AttachOptionsFor<K extends ProgramSpec["attach"]> = K extends keyof AttachOptionsByKind
  ? AttachOptionsByKind[K]
  : AttachOptions;

/** True when `attach()` knows how to attach this kind of program. */
export function isAttachable(spec: ProgramSpec): boolean {
  return ["tracepoint", "raw_tracepoint", "tp_btf", "fentry", "fexit", "fmod_ret", "lsm"].includes(
    spec.attach,
  );
}

export function attachProgram(fd: number, spec: ProgramSpec, opts: AttachOptions = {}): Link {
  const target = opts.target ?? spec.attachTo;
  const name = spec.name;
  switch (spec.attach) {
    case "tracepoint":
      return attachTracepoint(fd, name, target);
    case "raw_tracepoint":
      return attachRawTracepoint(fd, name, target);
    case "tp_btf":
    case "fentry":
    case "fexit":
    case "fmod_ret":
    case "lsm":
      return attachTracing(fd, name, spec.attach, spec.expectedAttachType, spec.attachTo);
    case "kprobe":
    case "kretprobe":
      if (!existsSync("/sys/bus/event_source/devices/kprobe/type")) {
        throw new AttachError(
          `program '${name}' (SEC("${spec.section}")): kprobes are not available on this kernel (CONFIG_KPROBES is off); use a tracepoint, raw_tracepoint or tp_btf program instead`,
        );
      }
      throw new AttachError(
        `program '${name}' (SEC("${spec.section}")): kprobe attachment is not implemented by tsbpf yet`,
      );
    case "uprobe":
    case "uretprobe":
      throw new AttachError(
        `program '${name}' (SEC("${spec.section}")): uprobe attachment is not implemented by tsbpf yet`,
      );
    case "syscall":
      throw new AttachError(
        `program '${name}' (SEC("syscall")) is not attached to anything: run it with testRun()`,
      );
    default:
      throw new AttachError(
        `program '${name}' (SEC("${spec.section}"), type ${spec.typeName}): tsbpf cannot attach this program type`,
      );
  }
}
