// Kernel feature probes the loader needs, each run once per process and cached:
// which BTF kinds BPF_BTF_LOAD accepts (libbpf probe_kern_btf_*, mostly delegated to
// src/sys/features.ts), and whether BPF trampolines exist (fentry,
// fexit, fmod_ret and lsm programs need them). Probes never throw: a failure to probe
// counts as "not supported".
import { encodeBtf } from "../btf/encode.ts";
import type { BtfType } from "../btf/types.ts";
import { btfLoad, closeFd, progLoad, SyscallError } from "../sys/bpf.ts";
import { forgetProbes, probe } from "../sys/features.ts";
import { BPF_PROG_TYPE } from "../uapi.ts";

const cache = new Map<string, boolean>();

function cached(name: string, probe: () => boolean): boolean {
  let v = cache.get(name);
  if (v === undefined) {
    try {
      v = probe();
    } catch {
      v = false;
    }
    cache.set(name, v);
  }
  return v;
}

const FUNC_PROBE: BtfType[] = [
  {
    kind: "int",
    id: 1,
    name: "int",
    size: 4,
    signed: true,
    char: false,
    bool: false,
    bitsOffset: 0,
    bits: 32,
  },
  { kind: "func_proto", id: 2, name: "", returnType: 1, params: [], variadic: false },
  { kind: "func", id: 3, name: "f", type: 2, linkage: 0 },
];

export type BtfFeature = "func" | "func_global" | "datasec" | "float" | "decl_tag" | "type_tag" | "enum64";

/** True when BPF_BTF_LOAD accepts this BTF kind / feature (src/sys/features.ts probes, plus FUNC). */
export function haveBtfFeature(f: BtfFeature): boolean {
  const forced = cache.get(`force_btf_${f}`);
  if (forced !== undefined) return forced;
  if (f !== "func") return probe(`btf_${f}`);
  return cached("btf_func", () => {
    try {
      closeFd(btfLoad({ btf: encodeBtf(FUNC_PROBE) }));
      return true;
    } catch (e) {
      if (e instanceof SyscallError) return false;
      throw e;
    }
  });
}

// r0 = 0; exit
const RET0 = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);

/** A minimal program of this type loads: separates "feature missing" from "no privilege". */
export function canLoadProgramType(progType: number): boolean {
  return cached(`prog_${progType}`, () => {
    closeFd(progLoad({ prog_type: progType, insns: RET0, license: "GPL" }));
    return true;
  });
}

/**
 * BPF trampolines: load a minimal fentry program on `btfId` (a FUNC in vmlinux BTF).
 * Kernels without CONFIG_FUNCTION_TRACER / DYNAMIC_FTRACE_WITH_DIRECT_CALLS refuse
 * with EPERM (or ENOTSUPP) even for root, after the verifier has accepted it.
 */
export function haveTrampolines(btfId: number, fentryAttachType: number): boolean {
  return cached("trampolines", () => {
    try {
      closeFd(
        progLoad({
          prog_type: BPF_PROG_TYPE.TRACING,
          insns: RET0,
          license: "GPL",
          expected_attach_type: fentryAttachType,
          attach_btf_id: btfId,
        }),
      );
      return true;
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      // Only a privileged process can tell: if plain programs fail too, this is privilege.
      if (!canLoadProgramType(BPF_PROG_TYPE.SOCKET_FILTER)) throw e;
      return false;
    }
  });
}

/** Forgets every probe result, here and in src/sys/features.ts (see snapshot-warmup.ts). */
export function forgetFeatureProbes(): void {
  cache.clear();
  forgetProbes();
}

/**
 * Overrides a probe result (tests: exercise the sanitiser on a kernel that has every
 * feature). `btf_<feature>` names force haveBtfFeature; others replace the cached probe.
 */
export function setFeatureForTest(name: string, value: boolean | undefined): void {
  const key = name.startsWith("btf_") ? `force_${name}` : name;
  if (value === undefined) cache.delete(key);
  else cache.set(key, value);
}
