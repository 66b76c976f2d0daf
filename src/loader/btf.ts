// The object's BTF, made acceptable to the running kernel and loaded with
// BPF_BTF_LOAD. Three kinds of edits, done on a copy of the raw records (strings are
// kept, only appended to, so line_info string offsets stay valid):
//  1. fix-ups clang leaves to the loader (libbpf btf_fixup_datasec): DATASEC sizes and
//     VAR offsets are 0 in the object; they come from the ELF section sizes and symbol
//     values. Hidden (STV_HIDDEN/INTERNAL) globals become static VARs.
//  2. externs (libbpf bpf_object__collect_externs): the kernel accepts neither extern
//     VAR linkage nor extern FUNC linkage (btf_var_check_meta, btf_func_check_meta),
//     nor FUNCs inside a DATASEC; .kconfig VARs get the offsets of the .kconfig map,
//     .ksyms VARs become 4-byte ints, and extern FUNCs become static with named params
//     (btf_func_check requires every argument to have a name).
//  3. sanitising for older kernels (libbpf bpf_object__sanitize_btf), decided by the
//     probes in features.ts: kinds the kernel lacks are replaced by equal-sized records
//     of kinds it has.
import type { Btf } from "../btf/btf.ts";
import { BTF_KIND } from "../btf/types.ts";
import { TsbpfError } from "../errors.ts";
import type { CollectionSpec } from "../spec.ts";
import { btfLoad, closeFd, SyscallError } from "../sys/bpf.ts";
import type { FeatureProbes } from "../sys/features.ts";
import { type BtfFeature, haveBtfFeature } from "./features.ts";
import type { OnStep } from "./steps.ts";

/** The kernel refused an object's BTF (BPF_BTF_LOAD). */
export class BtfLoadError extends TsbpfError {}

const HDR = 24;
const enc = new TextEncoder();

/** Mutable copy of a BTF blob: one byte array per type record, plus appended strings. */
class BtfEditor {
  readonly recs: Uint8Array[] = [];
  private readonly strBase: Uint8Array;
  private readonly extra: Uint8Array[] = [];
  private strLen: number;
  private readonly added = new Map<string, number>();
  constructor(readonly btf: Btf) {
    const end = btf.header.hdrLen + btf.header.typeOff + btf.header.typeLen;
    for (let id = btf.firstId; id < btf.length; id++) {
      const s = btf.offsetOf(id);
      const e = id + 1 < btf.length ? btf.offsetOf(id + 1) : end;
      this.recs.push(btf.raw.slice(s, e));
    }
    this.strBase = btf.stringsBytes.slice();
    this.strLen = this.strBase.length;
  }
  rec(id: number): Uint8Array {
    return this.recs[id - this.btf.firstId] as Uint8Array;
  }
  dv(id: number): DataView {
    const r = this.rec(id);
    return new DataView(r.buffer, r.byteOffset, r.byteLength);
  }
  set(id: number, bytes: Uint8Array): void {
    this.recs[id - this.btf.firstId] = bytes;
  }
  kind(id: number): number {
    return (this.dv(id).getUint32(4, true) >>> 24) & 0x1f;
  }
  vlen(id: number): number {
    return this.dv(id).getUint32(4, true) & 0xffff;
  }
  setInfo(id: number, kind: number, vlen: number, kflag = 0): void {
    this.dv(id).setUint32(4, ((kflag << 31) | (kind << 24) | vlen) >>> 0, true);
  }
  /** Appends a string; returns its offset. */
  str(s: string): number {
    const hit = this.added.get(s);
    if (hit !== undefined) return hit;
    const b = enc.encode(s);
    const off = this.strLen;
    this.extra.push(b, new Uint8Array(1));
    this.strLen += b.length + 1;
    this.added.set(s, off);
    return off;
  }
  /** Appends a type record; returns its id. */
  add(rec: Uint8Array): number {
    this.recs.push(rec);
    return this.btf.firstId + this.recs.length - 1;
  }
  /** In-place edit of the string at `off` (same length). */
  renameInPlace(off: number, f: (s: string) => string): void {
    if (off >= this.strBase.length) return;
    const end = this.strBase.indexOf(0, off);
    const s = new TextDecoder().decode(this.strBase.subarray(off, end));
    const t = enc.encode(f(s));
    if (t.length === end - off) this.strBase.set(t, off);
  }
  encode(): Uint8Array {
    const typeLen = this.recs.reduce((n, r) => n + r.length, 0);
    const out = new Uint8Array(HDR + typeLen + this.strLen);
    const h = new DataView(out.buffer);
    h.setUint16(0, 0xeb9f, true);
    out[2] = 1;
    h.setUint32(4, HDR, true);
    h.setUint32(8, 0, true);
    h.setUint32(12, typeLen, true);
    h.setUint32(16, typeLen, true);
    h.setUint32(20, this.strLen, true);
    let p = HDR;
    for (const r of this.recs) {
      out.set(r, p);
      p += r.length;
    }
    out.set(this.strBase, p);
    p += this.strBase.length;
    for (const x of this.extra) {
      out.set(x, p);
      p += x.length;
    }
    return out;
  }
}

function intRecord(nameOff: number, size: number, bits: number): Uint8Array {
  const r = new Uint8Array(16);
  const dv = new DataView(r.buffer);
  dv.setUint32(0, nameOff, true);
  dv.setUint32(4, BTF_KIND.INT << 24, true);
  dv.setUint32(8, size, true);
  dv.setUint32(12, bits, true);
  return r;
}

/** Returns the BTF bytes to load and a description of each change made. */
export function prepareBtf(
  spec: CollectionSpec,
  btf: Btf,
  features: FeatureProbes,
): { bytes: Uint8Array; changes: string[] } {
  const ed = new BtfEditor(btf);
  const changes: string[] = [];
  let int4: number | undefined;
  const intId = (): number => {
    if (int4 !== undefined) return int4;
    for (let id = 1; id < btf.length; id++) {
      const t = btf.type(id);
      if (t.kind === "int" && t.size === 4 && t.bits === 32 && t.bitsOffset === 0) return (int4 = id);
    }
    int4 = ed.add(intRecord(ed.str("int"), 4, (1 << 24) | 32));
    changes.push(`added INT 'int' [${int4}] for .ksyms variables`);
    return int4;
  };

  for (let id = btf.firstId; id < btf.length; id++) {
    const t = btf.type(id);
    if (t.kind === "var" && t.linkage === 2) {
      ed.dv(id).setUint32(12, 1, true); // BTF_VAR_GLOBAL_ALLOCATED
      changes.push(`VAR '${t.name}' [${id}]: extern linkage -> global`);
    } else if (t.kind === "func" && t.linkage === 2) {
      ed.setInfo(id, BTF_KIND.FUNC, 0);
      changes.push(`FUNC '${t.name}' [${id}]: extern linkage -> static`);
      const proto = btf.type(t.type);
      if (proto.kind === "func_proto") {
        proto.params.forEach((p, i) => {
          if (p.name === "" && p.type !== 0) ed.dv(t.type).setUint32(12 + i * 8, ed.str(`arg${i}`), true);
        });
      }
    }
  }

  for (let id = btf.firstId; id < btf.length; id++) {
    const t = btf.type(id);
    if (t.kind !== "datasec") continue;
    const dv = ed.dv(id);
    let vars = t.vars.map((v) => ({ ...v }));
    let size = t.size;
    if (t.name === ".kconfig") {
      for (const v of vars) {
        const ext = spec.externs.find((e) => e.kind === "kconfig" && e.name === btf.nameOf(v.type));
        if (ext) v.offset = ext.offset;
      }
      size = spec.maps.find((m) => m.globalData?.section === ".kconfig")?.valueSize ?? size;
    } else if (t.name === ".ksyms") {
      // Only VARs may sit in a DATASEC (btf_datasec_resolve); FUNC entries go.
      vars = vars.filter((v) => btf.kind(v.type) === "var");
      vars.forEach((v, i) => {
        v.offset = i * 4;
        v.size = 4;
        ed.dv(v.type).setUint32(8, intId(), true);
      });
      size = vars.length * 4;
      changes.push(
        `DATASEC '.ksyms' [${id}]: ${vars.length} variables as 4-byte ints, extern functions dropped`,
      );
    } else if (size === 0) {
      const layout = spec.elfLayout;
      const secSize = layout?.sectionSizes.get(t.name);
      if (secSize !== undefined) {
        size = secSize;
        for (const v of vars) {
          const name = btf.nameOf(v.type);
          const sym = layout?.symbols.get(name);
          if (sym && sym.section === t.name) {
            v.offset = sym.offset;
            if (sym.hidden) ed.dv(v.type).setUint32(12, 0, true);
          }
        }
        changes.push(
          `DATASEC '${t.name}' [${id}]: size ${size} and ${vars.length} variable offsets from the ELF symbols`,
        );
      }
    }
    vars.sort((a, b) => a.offset - b.offset);
    if (size === 0 && vars.length === 0) {
      // An empty DATASEC is invalid (size == 0): keep the name as a plain int.
      ed.set(id, intRecord(dv.getUint32(0, true), 4, 32));
      continue;
    }
    const rec = new Uint8Array(12 + vars.length * 12);
    rec.set(ed.rec(id).subarray(0, 12));
    const rdv = new DataView(rec.buffer);
    rdv.setUint32(4, (BTF_KIND.DATASEC << 24) | vars.length, true);
    rdv.setUint32(8, size, true);
    vars.forEach((v, i) => {
      rdv.setUint32(12 + i * 12, v.type, true);
      rdv.setUint32(16 + i * 12, v.offset, true);
      rdv.setUint32(20 + i * 12, v.size, true);
    });
    ed.set(id, rec);
  }

  sanitise(btf, ed, changes, features);
  return { bytes: ed.encode(), changes };
}

/** libbpf bpf_object__sanitize_btf: replace kinds the kernel lacks. */
function sanitise(btf: Btf, ed: BtfEditor, changes: string[], features: FeatureProbes): void {
  const kinds = new Set<string>();
  for (let id = btf.firstId; id < btf.length; id++) kinds.add(btf.kind(id));
  const need = (f: BtfFeature, k: string) => kinds.has(k) && !haveBtfFeature(features, f);
  const noFunc = need("func", "func");
  const noGlobal = !noFunc && kinds.has("func") && !haveBtfFeature(features, "func_global");
  const noDatasec = need("datasec", "datasec");
  const noFloat = need("float", "float");
  const noDeclTag = need("decl_tag", "decl_tag");
  const noTypeTag = need("type_tag", "type_tag");
  const noEnum64 = need("enum64", "enum64");
  if (!(noFunc || noGlobal || noDatasec || noFloat || noDeclTag || noTypeTag || noEnum64)) return;
  let placeholder: number | undefined;
  for (let id = btf.firstId; id < btf.length; id++) {
    const k = ed.kind(id);
    const dv = ed.dv(id);
    const vlen = ed.vlen(id);
    const name = btf.nameOf(id);
    if (noFunc && k === BTF_KIND.FUNC_PROTO) {
      ed.setInfo(id, BTF_KIND.ENUM, vlen);
      dv.setUint32(8, 4, true);
      changes.push(`FUNC_PROTO [${id}] -> ENUM (kernel lacks BTF_KIND_FUNC)`);
    } else if (noFunc && k === BTF_KIND.FUNC) {
      ed.setInfo(id, BTF_KIND.TYPEDEF, 0);
      changes.push(`FUNC '${name}' [${id}] -> TYPEDEF`);
    } else if (noGlobal && k === BTF_KIND.FUNC && vlen === 1) {
      ed.setInfo(id, BTF_KIND.FUNC, 0);
      changes.push(`FUNC '${name}' [${id}]: global -> static linkage (kernel lacks global functions in BTF)`);
    } else if (noDatasec && k === BTF_KIND.VAR) {
      ed.setInfo(id, BTF_KIND.INT, 0);
      dv.setUint32(8, 1, true);
      dv.setUint32(12, 8, true);
      changes.push(`VAR '${name}' [${id}] -> INT`);
    } else if (noDatasec && k === BTF_KIND.DATASEC) {
      ed.renameInPlace(dv.getUint32(0, true), (s) => s.replace(/\./g, "_"));
      ed.setInfo(id, BTF_KIND.STRUCT, vlen);
      for (let j = 0; j < vlen; j++) {
        const o = 12 + j * 12;
        const type = dv.getUint32(o, true);
        const off = dv.getUint32(o + 4, true);
        dv.setUint32(o, ed.dv(type).getUint32(0, true), true);
        dv.setUint32(o + 4, type, true);
        dv.setUint32(o + 8, off * 8, true);
      }
      changes.push(`DATASEC '${name}' [${id}] -> STRUCT`);
    } else if (noFloat && k === BTF_KIND.FLOAT) {
      dv.setUint32(0, 0, true);
      ed.setInfo(id, BTF_KIND.STRUCT, 0);
      changes.push(`FLOAT '${name}' [${id}] -> empty STRUCT`);
    } else if (noDeclTag && k === BTF_KIND.DECL_TAG) {
      dv.setUint32(0, 0, true);
      ed.setInfo(id, BTF_KIND.INT, 0);
      dv.setUint32(8, 1, true);
      dv.setUint32(12, 8, true);
      changes.push(`DECL_TAG '${name}' [${id}] -> INT`);
    } else if (noTypeTag && k === BTF_KIND.TYPE_TAG) {
      dv.setUint32(0, 0, true);
      ed.setInfo(id, BTF_KIND.CONST, 0);
      changes.push(`TYPE_TAG '${name}' [${id}] -> CONST`);
    } else if (noEnum64 && k === BTF_KIND.ENUM64) {
      placeholder ??= ed.add(intRecord(ed.str("enum64_placeholder"), 1, 8));
      ed.setInfo(id, BTF_KIND.UNION, vlen);
      for (let j = 0; j < vlen; j++) {
        dv.setUint32(16 + j * 12, placeholder, true);
        dv.setUint32(20 + j * 12, 0, true);
      }
      changes.push(`ENUM64 '${name}' [${id}] -> UNION`);
    }
  }
}

export interface LoadedBtf {
  fd: number;
  bytes: Uint8Array;
}

/**
 * Loads prepared BTF bytes (see prepareBtf). Returns undefined when the kernel rejects
 * them (programs then load without func_info/line_info, as libbpf does) unless
 * `required`, in which case BtfLoadError carries the tail of the kernel's BTF log.
 */
export function loadPreparedBtf(
  objectPath: string,
  prepared: { bytes: Uint8Array; changes: string[] },
  opts: { onStep?: OnStep; required?: boolean } = {},
): LoadedBtf | undefined {
  const { bytes, changes } = prepared;
  opts.onStep?.({ step: "btf_sanitised", changes });
  try {
    const fd = btfLoad({ btf: bytes }, `BTF of ${objectPath}`);
    opts.onStep?.({ step: "btf_loaded", fd, size: bytes.length });
    return { fd, bytes };
  } catch (e) {
    if (!(e instanceof SyscallError)) throw e;
    if (e.code === "EPERM") throw e; // privilege: no point going on without BTF
    const tail = btfLogTail(bytes);
    const reason = `the kernel rejected the BTF of ${objectPath} (${e.code})${tail.length ? `:\n  ${tail.join("\n  ")}` : ""}`;
    if (opts.required) throw new BtfLoadError(reason, { cause: e });
    opts.onStep?.({ step: "btf_rejected", reason });
    return undefined;
  }
}

/** Loads again with a log (growing the buffer on ENOSPC) and returns its last lines. */
function btfLogTail(bytes: Uint8Array): string[] {
  let size = 64 * 1024;
  for (let attempt = 0; attempt < 6; attempt++) {
    const buf = new Uint8Array(new ArrayBuffer(size));
    const out: { logTrueSize?: number } = {};
    try {
      // Loaded this time (a transient failure): nothing to show.
      closeFd(btfLoad({ btf: bytes, btf_log_buf: buf, btf_log_level: 1 }, undefined, out));
      return [];
    } catch (e) {
      if (e instanceof SyscallError && e.code === "ENOSPC" && size < 1 << 28) {
        size = Math.max(size * 4, out.logTrueSize ?? 0);
        continue;
      }
      const end = buf.indexOf(0);
      const text = new TextDecoder().decode(buf.subarray(0, end < 0 ? buf.length : end));
      return text
        .split("\n")
        .filter((l) => l.trim() !== "")
        .slice(-8);
    }
  }
  return [];
}
