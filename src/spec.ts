// Specs: plain data read from an object file, with no kernel state (the cilium/ebpf
// split between CollectionSpec and Collection). src/elf produces them; the loader
// turns them into kernel objects. They may be edited between the two steps.

import type { Btf } from "./btf/btf.ts";
import type { BtfExt, CoreRelo } from "./btf/ext.ts";

/** One relocation that the loader must apply to an instruction of a function. */
export type RelocationSpec =
  /** ld_imm64 of a BTF-defined map in `.maps` → BPF_PSEUDO_MAP_FD. */
  | { kind: "map"; insn: number; symbol: string; map: string }
  /** ld_imm64 into a global-data map (.rodata/.data/.bss/.kconfig, ...) → BPF_PSEUDO_MAP_VALUE + offset. */
  | { kind: "data"; insn: number; symbol: string; map: string; offset: number }
  /** bpf-to-bpf call (BPF_PSEUDO_CALL) to the function with this key. */
  | { kind: "call"; insn: number; symbol: string; target: string }
  /** ld_imm64 of a function address (BPF_PSEUDO_FUNC), e.g. a bpf_loop callback. */
  | { kind: "func"; insn: number; symbol: string; target: string }
  /** ld_imm64 or call of an extern: `.kconfig` variable or `__ksym`. */
  | { kind: "extern"; insn: number; symbol: string; name: string };

/** One bpf_func_info record of a function (.BTF.ext). */
export interface FuncInfoSpec {
  /** Instruction index (8-byte slots) relative to the function start. */
  insn: number;
  typeId: number;
}

/** One bpf_line_info record of a function (.BTF.ext): source line of an instruction. */
export interface LineInfoSpec {
  /** Instruction index (8-byte slots) relative to the function start. */
  insn: number;
  fileName: string;
  line: string;
  lineNumber: number;
  column: number;
  /** Raw offsets, for re-encoding bpf_line_info against the object's own string table. */
  fileNameOff: number;
  lineOff: number;
  lineCol: number;
}

/** One function of a code section: a program entry point or a subprogram. */
export interface FunctionSpec {
  /** The C function name (the symbol). */
  name: string;
  /** Unique key "<section>:<byte offset>" used by call relocations. */
  key: string;
  section: string;
  sectionIndex: number;
  /** Byte offset of the function within its section. */
  offset: number;
  /** Raw instructions, 8-byte little-endian slots (ld_imm64 takes two). */
  insns: Uint8Array;
  global: boolean;
  relocations: RelocationSpec[];
  funcInfo: FuncInfoSpec[];
  lineInfo: LineInfoSpec[];
  /** CO-RE records whose instruction falls in this function; `insnOff` is relative to the function. */
  coreRelos: CoreRelo[];
}

/** BPF_PROG_TYPE_* and attach details derived from the SEC() name, as libbpf's section table does. */
export interface ProgramTypeInfo {
  /** Lower-case name, e.g. "tracepoint", "raw_tracepoint", "tracing", "kprobe", "xdp". */
  typeName: string;
  /** BPF_PROG_TYPE_* */
  progType: number;
  /** BPF_* attach type (enum bpf_attach_type), 0 when none is needed. */
  expectedAttachType: number;
  /** Attach kind used by the attach layer. */
  attach:
    | "tracepoint"
    | "raw_tracepoint"
    | "tp_btf"
    | "fentry"
    | "fexit"
    | "fmod_ret"
    | "lsm"
    | "kprobe"
    | "kretprobe"
    | "kprobe_multi"
    | "kretprobe_multi"
    | "ksyscall"
    | "kretsyscall"
    | "uprobe"
    | "uretprobe"
    | "usdt"
    | "syscall"
    | "socket"
    | "xdp"
    | "tc"
    | "tcx"
    | "cgroup"
    | "sk_lookup"
    | "flow_dissector"
    | "iter"
    | "perf_event"
    | "sockmap"
    | "none";
  /** What comes after the prefix: "sched/sched_process_exec", "sched_process_fork", "do_exit". */
  attachTo: string;
  sleepable: boolean;
  /** Extra BPF_PROG_LOAD prog_flags the section implies (BPF_F_XDP_HAS_FRAGS for xdp.frags). */
  progFlags?: number;
}

export interface ProgramSpec extends FunctionSpec, ProgramTypeInfo {}

/** LIBBPF_PIN_BY_NAME = 1 */
export type PinningType = "none" | "by_name";

/** A map as the object defines it: what BPF_MAP_CREATE will be given. */
export interface MapSpec {
  name: string;
  /** BPF_MAP_TYPE_* */
  type: number;
  /** Lower-case type name as bpftool prints it: "hash", "ringbuf", "array_of_maps", ... */
  typeName: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  numaNode: number;
  mapExtra: bigint;
  pinning: PinningType;
  /** BTF type ids (in the object's BTF) of key and value, 0 when unknown. */
  btfKeyTypeId: number;
  btfValueTypeId: number;
  /** For array/hash of maps: the inner map template. */
  inner?: MapSpec;
  /** For array/hash of maps and prog arrays: initial slots from `.values = { ... }`. */
  initialSlots?: { index: number; name: string }[];
  /** Global-data maps: the section's initial contents (zeroes for .bss), and its BTF DATASEC id. */
  globalData?: { section: string; contents: Uint8Array; datasecId: number; readonly: boolean };
}

/** An extern the object uses: a .kconfig variable or a __ksym. */
export interface ExternSpec {
  name: string;
  kind: "kconfig" | "ksym";
  /** BTF id of the VAR (kconfig) or FUNC (ksym) in the object's BTF. */
  btfId: number;
  /** For kconfig: offset in the .kconfig map value. */
  offset: number;
  size: number;
  weak: boolean;
}

/** An object file read into plain data: programs, maps, externs and BTF, before any kernel object exists. */
export interface CollectionSpec {
  /** Path the object was read from, for messages. */
  path: string;
  license: string;
  kernelVersion: number;
  programs: ProgramSpec[];
  /** Every function, entry points and subprograms, by key. */
  functions: Map<string, FunctionSpec>;
  maps: MapSpec[];
  externs: ExternSpec[];
  btf: Btf | undefined;
  btfExt: BtfExt | undefined;
  /**
   * ELF facts the loader needs to fix up clang's BTF before BPF_BTF_LOAD: clang leaves
   * DATASEC sizes and VAR offsets 0 (libbpf btf_fixup_datasec fills them from the ELF
   * section sizes and symbol values). Absent for hand-built specs.
   */
  elfLayout?: ElfLayout;
}

/** Section sizes and symbol places from the ELF, for BTF fix-ups. */
export interface ElfLayout {
  /** Section name → size in bytes. */
  sectionSizes: Map<string, number>;
  /** Defined data symbol name → its section, offset and STV_HIDDEN/INTERNAL visibility. */
  symbols: Map<string, { section: string; offset: number; hidden: boolean }>;
}
