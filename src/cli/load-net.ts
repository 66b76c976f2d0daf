// The attach targets of `tsbpf load` for programs whose target SEC() does not name: an
// interface (xdp, tc, tcx), a cgroup (cgroup_skb, cgroup/*, sockops), a network
// namespace (sk_lookup, flow_dissector; default this one), a sockmap (sk_msg, sk_skb:
// the object's own when it has exactly one), a perf event (perf_event: cpu-clock on
// every CPU). Every missing target is reported at once, before anything is attached,
// with the option that supplies it and --no-attach as the way out.
import { UsageError } from "../errors.ts";
import { type AttachOptions, attachNeeds, isAttachable } from "../link/attach.ts";
import type { XdpMode } from "../link/xdp.ts";
import type { Collection } from "../loader/collection.ts";
import type { Program } from "../loader/handle.ts";
import type { BpfMap } from "../maps/map.ts";
import { BPF_MAP_TYPE } from "../uapi.ts";

/** parseArgs options this step adds to `tsbpf load`. */
export const NET_ATTACH_OPTIONS = {
  iface: { type: "string" },
  netns: { type: "string" },
  cgroup: { type: "string" },
  "xdp-mode": { type: "string" },
  "tc-direction": { type: "string" },
  "perf-freq": { type: "string" },
  sockmap: { type: "string" },
} as const;

export const NET_ATTACH_HELP = `      --iface IFACE attach xdp, tc and tcx programs to this interface (name or index)
      --netns PATH  ... in this network namespace (/run/netns/NAME); also where
                    sk_lookup and flow_dissector programs attach (default: this one)
      --cgroup DIR  attach cgroup programs (cgroup_skb/*, cgroup/*, sockops) to this
                    cgroup v2 directory (absolute, or relative to the cgroup2 mount)
      --xdp-mode M  generic, driver or offload (default: the kernel picks)
      --tc-direction D
                    ingress or egress, for bare SEC("tc") programs (default ingress)
      --sockmap MAP attach sk_msg and sk_skb programs to this map of the object
                    (default: its only sockmap or sockhash)
      --perf-freq HZ
                    sampling rate of perf_event programs (cpu-clock on every CPU,
                    default 99)`;

export interface NetAttachValues {
  iface?: string;
  netns?: string;
  cgroup?: string;
  "xdp-mode"?: string;
  "tc-direction"?: string;
  "perf-freq"?: string;
  sockmap?: string;
}

const XDP_MODES = ["generic", "driver", "offload", "auto"];

function optionsFrom(v: NetAttachValues): AttachOptions {
  if (v["xdp-mode"] !== undefined && !XDP_MODES.includes(v["xdp-mode"]))
    throw new UsageError(`load: --xdp-mode must be one of ${XDP_MODES.join(", ")}, not '${v["xdp-mode"]}'`);
  const dir = v["tc-direction"];
  if (dir !== undefined && dir !== "ingress" && dir !== "egress")
    throw new UsageError(`load: --tc-direction must be ingress or egress, not '${dir}'`);
  let freq: number | undefined;
  if (v["perf-freq"] !== undefined) {
    freq = Number(v["perf-freq"]);
    if (!Number.isInteger(freq) || freq <= 0)
      throw new UsageError(
        `load: --perf-freq must be a positive integer (samples per second), not '${v["perf-freq"]}'`,
      );
  }
  return {
    iface: v.iface,
    netns: v.netns,
    cgroup: v.cgroup,
    mode: v["xdp-mode"] as XdpMode | undefined,
    direction: dir as "ingress" | "egress" | undefined,
    perf: freq !== undefined ? { frequency: freq } : undefined,
  };
}

const SOCKMAPS = new Set<number>([BPF_MAP_TYPE.SOCKMAP, BPF_MAP_TYPE.SOCKHASH]);

/** The sockmap/sockhash sk_msg and sk_skb programs attach to: --sockmap, or the only one. */
function sockmapOf(coll: Collection, name: string | undefined): BpfMap | undefined {
  if (name !== undefined) {
    const m = coll.maps[name];
    if (!m || !SOCKMAPS.has(m.spec.type))
      throw new UsageError(`load: --sockmap ${name}: the object has no sockmap or sockhash of that name`);
    return m;
  }
  const all = [...new Set(Object.values(coll.maps).filter((m) => SOCKMAPS.has(m.spec.type)))];
  return all.length === 1 ? all[0] : undefined;
}

/** What is missing for `p`, as "a network interface (--iface IFACE)", or undefined. */
function missing(
  p: Program,
  o: AttachOptions,
  coll: Collection,
  sockmap: string | undefined,
): string | undefined {
  switch (attachNeeds(p.spec)) {
    case "interface":
      return o.iface === undefined ? "a network interface (--iface IFACE)" : undefined;
    case "cgroup":
      return o.cgroup === undefined ? "a cgroup (--cgroup DIR)" : undefined;
    case "map":
      return p.spec.attach === "sockmap" && sockmapOf(coll, sockmap)
        ? undefined
        : "a sockmap or sockhash of the object (--sockmap MAP)";
    default:
      return undefined;
  }
}

export interface NetAttachPlan {
  /** attach() options of `p` from the command line (empty for kinds this file does not place). */
  optionsFor(p: Program): AttachOptions;
  /** A note instead of attaching `p` (socket filters: no socket exists on a command line). */
  skip(p: Program): string | undefined;
  /** A note after attaching `p` (an iterator runs only when read). */
  after(p: Program): string | undefined;
}

/**
 * Checks that every program of `coll` this file places has its target, and throws a
 * UsageError naming each missing one (with --no-attach as the way out) before anything
 * is attached.
 */
export function planNetAttach(coll: Collection, values: NetAttachValues): NetAttachPlan {
  const opts = optionsFrom(values);
  const programs = Object.values(coll.programs);
  const lacking: string[] = [];
  for (const p of programs) {
    if (!isAttachable(p.spec) || p.spec.attach === "socket") continue;
    const m = missing(p, opts, coll, values.sockmap);
    if (m) lacking.push(`program '${p.name}' (SEC("${p.spec.section}")) needs ${m}`);
  }
  // An interface holds one XDP program (per mode): attaching a second fails with EBUSY.
  const xdp = programs.filter((p) => p.spec.attach === "xdp");
  if (xdp.length > 1 && opts.iface !== undefined)
    lacking.push(
      `programs ${xdp.map((p) => `'${p.name}'`).join(", ")} are all XDP programs, and ${opts.iface} holds one`,
    );
  if (lacking.length)
    throw new UsageError(
      `load: cannot attach: ${lacking.join("; ")}. Give the target, or load without attaching: --no-attach`,
    );
  return {
    optionsFor(p) {
      switch (p.spec.attach) {
        case "xdp":
          return { iface: opts.iface, netns: opts.netns, mode: opts.mode };
        case "tc":
        case "tcx":
          return {
            iface: opts.iface,
            netns: opts.netns,
            direction: p.spec.attach === "tc" ? opts.direction : undefined,
          };
        case "cgroup":
          return { cgroup: opts.cgroup };
        case "sk_lookup":
        case "flow_dissector":
          return { netns: opts.netns };
        case "perf_event":
          return { perf: opts.perf };
        case "sockmap": {
          const map = sockmapOf(coll, values.sockmap);
          return { mapFd: map?.fd, mapName: map?.spec.name };
        }
        default:
          return {};
      }
    },
    skip(p) {
      return p.spec.attach === "socket"
        ? `${p.name}: SEC("socket") filters attach to a socket (SO_ATTACH_BPF) that a program opens; attach it with the library: program.attach({ socket })`
        : undefined;
    },
    after(p) {
      return p.spec.attach === "iter"
        ? `${p.name}: an iterator runs when read: pin it (--pin DIR) and cat DIR/links/${p.name}`
        : undefined;
    },
  };
}
