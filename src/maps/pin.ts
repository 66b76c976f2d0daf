// Pinning maps to bpffs and reusing existing pins, as libbpf's LIBBPF_PIN_BY_NAME does:
// an existing pin is opened with BPF_OBJ_GET and accepted only if the kernel's map
// info matches the spec (type, key/value size, max_entries, flags; libbpf's
// map_is_reuse_compat), otherwise the user is told what differs.
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { TsbpfError } from "../errors.ts";
import type { MapSpec } from "../spec.ts";
import { closeFd, type MapInfo, mapInfo, objGet } from "../sys/bpf.ts";
import { numPossibleCpus } from "../sys/cpus.ts";
import { mountIfAbsent } from "../sys/fs.ts";
import { BPF_MAP_TYPE, BPF_MAP_TYPE_NAMES } from "../uapi.ts";
import { BpfMap, kernelObjectName, type MapCreateOptions } from "./map.ts";

/** A pinned map exists but differs from the object's definition (type, sizes, flags). */
export class PinMismatchError extends TsbpfError {}

export const DEFAULT_PIN_DIR = "/sys/fs/bpf";

/** Where a map pinned by name lives: <dir>/<name>. */
export function pinPath(spec: MapSpec, dir = DEFAULT_PIN_DIR): string {
  return join(dir, kernelObjectName(spec.name) || spec.name);
}

/** Make sure `path` can be pinned to: bpffs mounted (for /sys/fs/bpf), parent directory present. */
export function preparePinDir(path: string): void {
  if (path.startsWith(`${DEFAULT_PIN_DIR}/`)) mountIfAbsent("bpf");
  const dir = dirname(path);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
}

/** Differences between a pinned map and the spec, as "field: pinned X, spec wants Y". */
export function pinDifferences(info: MapInfo, spec: MapSpec): string[] {
  const want = {
    type: spec.type,
    key_size: spec.keySize,
    value_size: spec.valueSize,
    max_entries:
      spec.type === BPF_MAP_TYPE.PERF_EVENT_ARRAY && spec.maxEntries === 0
        ? numPossibleCpus()
        : spec.maxEntries,
    map_flags: spec.flags,
  };
  if (spec.type === BPF_MAP_TYPE.PERF_EVENT_ARRAY) {
    want.key_size ||= 4;
    want.value_size ||= 4;
  }
  const diffs: string[] = [];
  for (const [k, v] of Object.entries(want)) {
    const got = info[k as keyof typeof want];
    if (got !== v) {
      const fmt = (x: number) => (k === "type" ? `${x} (${BPF_MAP_TYPE_NAMES[x] ?? "?"})` : String(x));
      diffs.push(`${k}: pinned ${fmt(got)}, spec wants ${fmt(v)}`);
    }
  }
  return diffs;
}

/**
 * Open the map pinned at `path` if there is one and it matches `spec`; otherwise create
 * it and pin it there. `reused` says which happened.
 */
export function createOrReusePinned(
  spec: MapSpec,
  path: string,
  opts: MapCreateOptions = {},
): { map: BpfMap; reused: boolean } {
  preparePinDir(path);
  if (existsSync(path)) {
    const fd = objGet(path);
    let info: MapInfo;
    try {
      info = mapInfo(fd);
    } catch (e) {
      closeFd(fd);
      throw e;
    }
    const diffs = pinDifferences(info, spec);
    if (diffs.length) {
      closeFd(fd);
      throw new PinMismatchError(
        `map '${spec.name}': the map pinned at ${path} does not match the object (${diffs.join("; ")}); remove the pin (rm ${path}) or use another pin path`,
      );
    }
    return { map: new BpfMap(fd, spec, opts.btf), reused: true };
  }
  const map = BpfMap.create(spec, opts);
  try {
    map.pin(path);
  } catch (e) {
    map.close();
    throw e;
  }
  return { map, reused: false };
}
