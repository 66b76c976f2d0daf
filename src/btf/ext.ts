// .BTF.ext reader: func_info, line_info and CO-RE relocation records, grouped by ELF
// section (libbpf's struct btf_ext_header in tools/lib/bpf/libbpf_internal.h and
// Documentation/bpf/llvm_reloc.rst / btf.rst "BTF Ext Section"). Offsets in the
// header are relative to the end of the header. Each info block is a u32 record
// size followed by {sec_name_off u32, num_info u32, records...} until its end.

import { bpf_core_relo_kind } from "../uapi.gen.ts";
import { withoutPrefix } from "../uapi.ts";
import type { Btf } from "./btf.ts";
import { BtfError } from "./errors.ts";

export interface BtfExtFuncInfo {
  /** Bytes from the start of the ELF section. */
  insnOff: number;
  typeId: number;
}

export interface BtfExtLineInfo {
  insnOff: number;
  fileNameOff: number;
  lineOff: number;
  lineCol: number;
  fileName: string;
  line: string;
  /** lineCol >> 10 */
  lineNumber: number;
  /** lineCol & 0x3ff */
  column: number;
}

/**
 * The string and bit-field parts of a bpf_line_info record, read when asked for: the
 * loader hands the kernel the raw offsets, and only messages (`explain`, verifier
 * errors, `inspect --disasm`) read the text, so a load does not decode two strings per
 * record (process.bpf.o has ~1,000 records). The offsets are checked when
 * the record is parsed, so the getters cannot fail. The BTF sits in a private field:
 * JSON and spreads see the numbers only (copy a record with `at()`).
 */
class LineInfoText {
  readonly #btf: Btf;
  constructor(
    btf: Btf,
    readonly fileNameOff: number,
    readonly lineOff: number,
    readonly lineCol: number,
  ) {
    this.#btf = btf;
  }
  get fileName(): string {
    return this.#btf.str(this.fileNameOff);
  }
  get line(): string {
    return this.#btf.str(this.lineOff);
  }
  get lineNumber(): number {
    return this.lineCol >>> 10;
  }
  get column(): number {
    return this.lineCol & 0x3ff;
  }
  /**
   * This record at instruction slot `insn` of a function or linked program (a
   * LineInfoSpec): linking moves functions, and a spread would drop the text getters.
   */
  at(insn: number): LineInfoRecord {
    return new LineInfoRecord(this.#btf, insn, this.fileNameOff, this.lineOff, this.lineCol);
  }
}

/** A .BTF.ext line_info record as parsed: `insnOff` in bytes from the ELF section start. */
export class BtfExtLineRecord extends LineInfoText implements BtfExtLineInfo {
  constructor(
    btf: Btf,
    readonly insnOff: number,
    fileNameOff: number,
    lineOff: number,
    lineCol: number,
  ) {
    super(btf, fileNameOff, lineOff, lineCol);
  }
}

/** A line_info record placed in a function or program: `insn` in instruction slots (LineInfoSpec). */
export class LineInfoRecord extends LineInfoText {
  constructor(
    btf: Btf,
    public insn: number,
    fileNameOff: number,
    lineOff: number,
    lineCol: number,
  ) {
    super(btf, fileNameOff, lineOff, lineCol);
  }
}

export interface CoreRelo {
  /** Instruction index (8-byte slots); in BtfExt relative to the ELF section, in FunctionSpec relative to the function. */
  insn: number;
  typeId: number;
  accessStr: string;
  /** BPF_CORE_* */
  kind: number;
}

export interface BtfExt {
  funcInfo: Map<string, BtfExtFuncInfo[]>;
  lineInfo: Map<string, BtfExtLineRecord[]>;
  coreRelos: Map<string, CoreRelo[]>;
  funcInfoRecSize: number;
  lineInfoRecSize: number;
  coreReloRecSize: number;
}

/** enum bpf_core_relo_kind (include/uapi/linux/bpf.h) without its BPF_CORE_ prefix. */
export const BPF_CORE = withoutPrefix(bpf_core_relo_kind, "BPF_CORE_");

/** libbpf's short names for BPF_CORE_* (core_relo_kind_str), indexed by kind. */
export const BPF_CORE_KIND_NAMES: string[] = [
  "byte_off",
  "byte_sz",
  "field_exists",
  "signed",
  "lshift_u64",
  "rshift_u64",
  "local_type_id",
  "target_type_id",
  "type_exists",
  "type_size",
  "enumval_exists",
  "enumval_value",
  "type_matches",
];

const BTF_EXT_MAGIC = 0xeb9f;
/** Header without core_relo_off/len (pre-CO-RE) and with them. */
const HDR_MIN = 24;
const HDR_CORE = 32;
/** Minimum record sizes: bpf_func_info, bpf_line_info, bpf_core_relo. */
const MIN_FUNC_INFO = 8;
const MIN_LINE_INFO = 16;
const MIN_CORE_RELO = 16;

interface Block {
  recSize: number;
  /** Per ELF section: its name, the byte offset of its first record and the record count. */
  sections: { name: string; first: number; count: number }[];
}

export function parseBtfExt(bytes: Uint8Array, btf: Btf, name = btf.name): BtfExt {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (msg: string, offset?: number): never => {
    throw new BtfError(name, msg, { offset, what: ".BTF.ext" });
  };
  if (bytes.length < 8) fail(`${bytes.length} bytes is too short for the .BTF.ext header (expected ≥ 8)`, 0);
  const magic = dv.getUint16(0, true);
  if (magic !== BTF_EXT_MAGIC) fail(`magic 0x${magic.toString(16)}, expected 0xeb9f`, 0);
  if (bytes[2] !== 1) fail(`version ${bytes[2]}, expected 1`, 2);
  const hdrLen = dv.getUint32(4, true);
  if (hdrLen < HDR_MIN || hdrLen > bytes.length) {
    fail(`hdr_len ${hdrLen} out of range (expected ${HDR_MIN}..${bytes.length})`, 4);
  }

  const block = (field: string, hdrOff: number, minRec: number): Block => {
    const off = dv.getUint32(hdrOff, true);
    const len = dv.getUint32(hdrOff + 4, true);
    if (len === 0) return { recSize: 0, sections: [] };
    const start = hdrLen + off;
    const end = start + len;
    if (end > bytes.length) {
      fail(`${field} ${off}+${len} runs past the end (expected ≤ ${bytes.length - hdrLen} bytes)`, hdrOff);
    }
    if (len < 4) fail(`${field} is ${len} bytes, too short for its record size`, start);
    const recSize = dv.getUint32(start, true);
    // Record sizes may grow in later versions (libbpf btf_ext_setup_info), never shrink,
    // and must stay 4-byte aligned.
    if (recSize < minRec || recSize % 4 !== 0) {
      fail(`${field} record size ${recSize} (expected a multiple of 4, ≥ ${minRec})`, start);
    }
    const sections: Block["sections"] = [];
    let p = start + 4;
    while (p < end) {
      if (end - p < 8) fail(`${field} section header truncated (${end - p} bytes left, expected 8)`, p);
      const secNameOff = dv.getUint32(p, true);
      const count = dv.getUint32(p + 4, true);
      if (!btf.strings.has(secNameOff)) {
        fail(`${field} section name offset ${secNameOff} out of range (expected < ${btf.strings.end})`, p);
      }
      const secName = btf.str(secNameOff);
      if (count === 0) fail(`${field} section '${secName}' has num_info 0`, p + 4);
      const need = count * recSize;
      if (need > end - p - 8) {
        fail(
          `${field} section '${secName}': ${count} records of ${recSize} bytes run past the end (${end - p - 8} bytes left)`,
          p + 4,
        );
      }
      sections.push({ name: secName, first: p + 8, count });
      p += 8 + need;
    }
    return { recSize, sections };
  };

  // Range checks inline, and the message built only on failure: these loops run over
  // every record of the object in a cold process.
  const strEnd = btf.strings.end;
  const checkStr = (off: number, at: number, field: string): void => {
    if (off >= strEnd) fail(`${field} string offset ${off} out of range (expected < ${strEnd})`, at);
  };

  const fi = block("func_info", 8, MIN_FUNC_INFO);
  const li = block("line_info", 16, MIN_LINE_INFO);
  const cr = hdrLen >= HDR_CORE ? block("core_relo", 24, MIN_CORE_RELO) : { recSize: 0, sections: [] };

  const funcInfo = new Map<string, BtfExtFuncInfo[]>();
  for (const s of fi.sections) {
    const list = funcInfo.get(s.name) ?? [];
    for (let i = 0, r = s.first; i < s.count; i++, r += fi.recSize)
      list.push({ insnOff: dv.getUint32(r, true), typeId: dv.getUint32(r + 4, true) });
    funcInfo.set(s.name, list);
  }
  const lineInfo = new Map<string, BtfExtLineRecord[]>();
  for (const s of li.sections) {
    const list = lineInfo.get(s.name) ?? [];
    for (let i = 0, r = s.first; i < s.count; i++, r += li.recSize) {
      const fileNameOff = dv.getUint32(r + 4, true);
      const lineOff = dv.getUint32(r + 8, true);
      if (fileNameOff >= strEnd) checkStr(fileNameOff, r + 4, "line_info file_name_off");
      if (lineOff >= strEnd) checkStr(lineOff, r + 8, "line_info line_off");
      list.push(
        new BtfExtLineRecord(btf, dv.getUint32(r, true), fileNameOff, lineOff, dv.getUint32(r + 12, true)),
      );
    }
    lineInfo.set(s.name, list);
  }
  const coreRelos = new Map<string, CoreRelo[]>();
  for (const s of cr.sections) {
    const list = coreRelos.get(s.name) ?? [];
    for (let i = 0, r = s.first; i < s.count; i++, r += cr.recSize) {
      const insnOff = dv.getUint32(r, true);
      if (insnOff % 8 !== 0) fail(`core_relo insn_off ${insnOff} is not a multiple of 8`, r);
      const typeId = dv.getUint32(r + 4, true);
      if (typeId >= btf.length) {
        fail(`core_relo type_id ${typeId} does not exist (expected < ${btf.length})`, r + 4);
      }
      const accessOff = dv.getUint32(r + 8, true);
      checkStr(accessOff, r + 8, "core_relo access_str_off");
      list.push({
        insn: insnOff / 8,
        typeId,
        accessStr: btf.str(accessOff),
        kind: dv.getUint32(r + 12, true),
      });
    }
    coreRelos.set(s.name, list);
  }
  return {
    funcInfo,
    lineInfo,
    coreRelos,
    funcInfoRecSize: fi.recSize,
    lineInfoRecSize: li.recSize,
    coreReloRecSize: cr.recSize,
  };
}
