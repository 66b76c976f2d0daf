// Kernel feature probes the loader needs, cached by the FeatureProbes passed in:
// which BTF kinds BPF_BTF_LOAD accepts (libbpf probe_kern_btf_*, mostly delegated to
// src/sys/features.ts), and whether BPF trampolines exist (fentry,
// fexit, fmod_ret and lsm programs need them). Probes never throw: a failure to probe
// counts as "not supported".
import { encodeBtf } from "../btf/encode.ts";
import type { BtfType } from "../btf/types.ts";
import { btfLoad, closeFd, progLoad, SyscallError } from "../sys/bpf.ts";
import type { FeatureProbes } from "../sys/features.ts";
import { BPF_PROG_TYPE } from "../uapi.ts";

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
export function haveBtfFeature(features: FeatureProbes, f: BtfFeature): boolean {
  if (f !== "func") return features.has(`btf_${f}`);
  return features.cached("btf_func", () => {
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
export function canLoadProgramType(features: FeatureProbes, progType: number): boolean {
  return features.cached(`prog_${progType}`, () => {
    closeFd(progLoad({ prog_type: progType, insns: RET0, license: "GPL" }));
    return true;
  });
}

/**
 * BPF trampolines: load a minimal fentry program on `btfId` (a FUNC in vmlinux BTF).
 * Kernels without CONFIG_FUNCTION_TRACER / DYNAMIC_FTRACE_WITH_DIRECT_CALLS refuse
 * with EPERM (or ENOTSUPP) even for root, after the verifier has accepted it.
 */
export function haveTrampolines(features: FeatureProbes, btfId: number, fentryAttachType: number): boolean {
  return features.cached("trampolines", () => {
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
      if (!canLoadProgramType(features, BPF_PROG_TYPE.SOCKET_FILTER)) throw e;
      return false;
    }
  });
}
