// Kernel feature probes: each is one tiny real object (a hand-encoded BTF blob,
// a map, a program), created and closed at once, its answer kept by a FeatureProbes. Answers are what
// this kernel accepts, not what its version number suggests (cilium/ebpf's features
// package works the same way).
import { TsbpfError } from "../errors.ts";
import { bpf_attr } from "../uapi.gen.ts";
import {
  BPF_ATTACH_TYPE,
  BPF_F_MMAPABLE,
  BPF_MAP_LOOKUP_BATCH,
  BPF_MAP_TYPE,
  BPF_PROG_TYPE,
} from "../uapi.ts";
import { bpfTry, newAttr } from "./bpf-core.ts";
import { mapCreate } from "./bpf-map.ts";
import { closeFd } from "./bpf-obj.ts";
import { btfLoad, linkCreate, progLoad } from "./bpf-prog.ts";
import { ERRNO, SyscallError } from "./errors.ts";
import { sys } from "./syscalls.ts";

export type FeatureName =
  | "btf_func_global"
  | "btf_datasec"
  | "btf_float"
  | "btf_decl_tag"
  | "btf_type_tag"
  | "btf_enum64"
  | "ringbuf"
  | "link_create_perf_event"
  | "batch_ops"
  | "mmapable_array";

/** One BTF type record for a probe blob: name, kind, kind_flag, vlen, size/type and extra u32s. */
interface RawType {
  name?: string;
  kind: number;
  vlen?: number;
  kindFlag?: boolean;
  sizeOrType: number;
  extra?: number[];
}

/** Encode a minimal BTF blob (include/uapi/linux/btf.h: 24-byte header, types, strings). */
export function encodeProbeBtf(types: RawType[]): Uint8Array {
  const strs: number[] = [0];
  const strOff = (s: string | undefined): number => {
    if (!s) return 0;
    const off = strs.length;
    for (const c of new TextEncoder().encode(s)) strs.push(c);
    strs.push(0);
    return off;
  };
  const words: number[] = [];
  for (const t of types) {
    words.push(strOff(t.name));
    words.push(((t.kindFlag ? 1 : 0) << 31) | (t.kind << 24) | (t.vlen ?? 0));
    words.push(t.sizeOrType);
    words.push(...(t.extra ?? []));
  }
  const typeLen = words.length * 4;
  const buf = new Uint8Array(new ArrayBuffer(24 + typeLen + strs.length));
  const dv = new DataView(buf.buffer);
  dv.setUint16(0, 0xeb9f, true);
  buf[2] = 1;
  dv.setUint32(4, 24, true);
  dv.setUint32(8, 0, true);
  dv.setUint32(12, typeLen, true);
  dv.setUint32(16, typeLen, true);
  dv.setUint32(20, strs.length, true);
  for (let i = 0; i < words.length; i++) dv.setUint32(24 + i * 4, words[i] >>> 0, true);
  buf.set(strs, 24 + typeLen);
  return buf;
}

/** BTF_KIND_* numbers used by the probes. */
const K = {
  INT: 1,
  PTR: 2,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
};
/** [1] int: 32 bits, signed (BTF_INT_SIGNED = 1 << 24 in the extra word). */
const INT: RawType = { name: "int", kind: K.INT, sizeOrType: 4, extra: [(1 << 24) | 32] };

const BTF_PROBES: Record<string, RawType[]> = {
  btf_func_global: [
    INT,
    { kind: K.FUNC_PROTO, sizeOrType: 1 },
    { name: "probe_fn", kind: K.FUNC, vlen: 1 /* BTF_FUNC_GLOBAL */, sizeOrType: 2 },
  ],
  btf_datasec: [
    INT,
    { name: "probe_var", kind: K.VAR, sizeOrType: 1, extra: [1 /* global allocated */] },
    { name: ".data", kind: K.DATASEC, vlen: 1, sizeOrType: 4, extra: [2, 0, 4] },
  ],
  btf_float: [{ name: "float", kind: K.FLOAT, sizeOrType: 4 }],
  btf_decl_tag: [
    INT,
    { name: "probe_var", kind: K.VAR, sizeOrType: 1, extra: [0] },
    { name: "tag", kind: K.DECL_TAG, sizeOrType: 2, extra: [0xffffffff] },
  ],
  btf_type_tag: [INT, { name: "tag", kind: K.TYPE_TAG, sizeOrType: 1 }, { kind: K.PTR, sizeOrType: 2 }],
  // The value is named by the type's own string "e" (string offset 1): the kernel rejects empty value names.
  btf_enum64: [{ name: "e", kind: K.ENUM64, vlen: 1, sizeOrType: 8, extra: [1, 1, 0] }],
};

/** r0 = 0; exit */
const RET0 = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);

function accepts(create: () => number): boolean {
  try {
    closeFd(create());
    return true;
  } catch (e) {
    if (e instanceof SyscallError && e.errno === ERRNO.EPERM) throw e;
    if (e instanceof SyscallError) return false;
    throw e;
  }
}

const PROBES: Record<FeatureName, () => boolean> = {
  btf_func_global: () => accepts(() => btfLoad({ btf: encodeProbeBtf(BTF_PROBES.btf_func_global) })),
  btf_datasec: () => accepts(() => btfLoad({ btf: encodeProbeBtf(BTF_PROBES.btf_datasec) })),
  btf_float: () => accepts(() => btfLoad({ btf: encodeProbeBtf(BTF_PROBES.btf_float) })),
  btf_decl_tag: () => accepts(() => btfLoad({ btf: encodeProbeBtf(BTF_PROBES.btf_decl_tag) })),
  btf_type_tag: () => accepts(() => btfLoad({ btf: encodeProbeBtf(BTF_PROBES.btf_type_tag) })),
  btf_enum64: () => accepts(() => btfLoad({ btf: encodeProbeBtf(BTF_PROBES.btf_enum64) })),
  ringbuf: () =>
    accepts(() =>
      mapCreate({ map_type: BPF_MAP_TYPE.RINGBUF, key_size: 0, value_size: 0, max_entries: 4096 }),
    ),
  mmapable_array: () =>
    accepts(() =>
      mapCreate({
        map_type: BPF_MAP_TYPE.ARRAY,
        key_size: 4,
        value_size: 4,
        max_entries: 1,
        map_flags: BPF_F_MMAPABLE,
      }),
    ),
  batch_ops: () => {
    // An empty hash answers LOOKUP_BATCH with ENOENT when batching exists, EINVAL when not.
    const fd = mapCreate({ map_type: BPF_MAP_TYPE.HASH, key_size: 4, value_size: 4, max_entries: 1 });
    try {
      const keys = new Uint8Array(new ArrayBuffer(4));
      const vals = new Uint8Array(new ArrayBuffer(4));
      const out = new Uint8Array(new ArrayBuffer(8));
      const attr = newAttr();
      const dv = new DataView(attr.buffer);
      const b = bpf_attr.batch;
      dv.setBigUint64(b.out_batch[0], sys.address_of(out), true);
      dv.setBigUint64(b.keys[0], sys.address_of(keys), true);
      dv.setBigUint64(b.values[0], sys.address_of(vals), true);
      dv.setUint32(b.count[0], 1, true);
      dv.setUint32(b.map_fd[0], fd, true);
      const r = bpfTry(BPF_MAP_LOOKUP_BATCH, attr);
      return r >= 0 || r === -ERRNO.ENOENT;
    } finally {
      closeFd(fd);
    }
  },
  link_create_perf_event: () => {
    // With a bad target fd, a kernel that knows BPF_PERF_EVENT links fails the fd lookup
    // (EBADF); one that does not rejects the attach type first (EINVAL).
    const prog = progLoad({ prog_type: BPF_PROG_TYPE.TRACEPOINT, insns: RET0, license: "GPL" });
    try {
      closeFd(
        linkCreate({ prog_fd: prog, target_fd: 0x7fffffff, attach_type: BPF_ATTACH_TYPE.BPF_PERF_EVENT }),
      );
      return true;
    } catch (e) {
      if (e instanceof SyscallError) return e.errno === ERRNO.EBADF;
      throw e;
    } finally {
      closeFd(prog);
    }
  },
};

/**
 * Answers to feature probes, each probed at most once per instance. Whoever holds one
 * decides how long its answers live: a load makes its own unless given one
 * (LoadOptions.features), and the objects it creates keep it for later questions (a
 * program's attach asks whether perf links exist).
 */
export class FeatureProbes {
  readonly #answers = new Map<string, boolean>();
  readonly #onProbe: ((name: string, answer: boolean | undefined) => void) | undefined;

  /**
   * `onProbe` is told when a probe starts (answer undefined) and when it ends (its
   * answer): every bpf() call in between belongs to the probe, which is how `tsbpf
   * explain` tells probes apart from the object's own calls.
   */
  constructor(opts: { onProbe?: (name: string, answer: boolean | undefined) => void } = {}) {
    this.#onProbe = opts.onProbe;
  }

  /** Runs one probe between the two onProbe calls. */
  #run(name: string, fn: () => boolean): boolean {
    this.#onProbe?.(name, undefined);
    let answer: boolean | undefined;
    try {
      answer = fn();
      return answer;
    } finally {
      this.#onProbe?.(name, answer ?? false);
    }
  }

  /** Whether this kernel supports a feature. Needs bpf privileges; EPERM is thrown. */
  has(name: FeatureName): boolean {
    const cached = this.#answers.get(name);
    if (cached !== undefined) return cached;
    const fn = PROBES[name];
    if (!fn)
      throw new TsbpfError(
        `unknown feature probe '${name}' (expected one of ${Object.keys(PROBES).join(", ")})`,
      );
    const ok = this.#run(name, fn);
    this.#answers.set(name, ok);
    return ok;
  }

  /**
   * A cached answer under any name, computing it with `probe` the first time; a probe
   * that throws counts as "not supported". For probes defined elsewhere (src/loader).
   */
  cached(name: string, probe: () => boolean): boolean {
    let v = this.#answers.get(name);
    if (v === undefined) {
      try {
        v = this.#run(name, probe);
      } catch {
        v = false;
      }
      this.#answers.set(name, v);
    }
    return v;
  }

  /** An answer given in advance (tests: a kernel without a feature), or undefined to forget it. */
  set(name: string, value: boolean | undefined): void {
    if (value === undefined) this.#answers.delete(name);
    else this.#answers.set(name, value);
  }

  /** The answer if known, without probing. */
  known(name: string): boolean | undefined {
    return this.#answers.get(name);
  }
}

/** One-off probe with no cache (a fresh FeatureProbes). */
export function probe(name: FeatureName): boolean {
  return new FeatureProbes().has(name);
}

export const FEATURE_NAMES = Object.keys(PROBES) as FeatureName[];
