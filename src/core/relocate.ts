// Applies the CO-RE relocations of one linked program against the target BTF (the
// running kernel's unless told otherwise) and explains each one: local type and
// access path, candidates, the chosen target, the value, and the instruction before
// and after. Rules follow libbpf's relo_core.c (bpf_core_calc_relo_insn,
// bpf_core_patch_insn); see resolve.ts and patch.ts.
import { disassembleInsn } from "../asm/disasm.ts";
import { decodeInsn } from "../asm/insn.ts";
import type { Btf } from "../btf/btf.ts";
import type { CoreRelo } from "../btf/ext.ts";
import { BPF_CORE, BPF_CORE_KIND_NAMES } from "../btf/ext.ts";
import { formatAccess, formatType } from "../btf/format.ts";
import type { LineInfoSpec } from "../spec.ts";
import { coreTargets, type TargetBtfs } from "./candidates.ts";
import { CoreRelocationError } from "./errors.ts";
import { essentialName, targetLabel } from "./names.ts";
import { patchInsn } from "./patch.ts";
import { type CoreResolution, resolveCoreRelo } from "./resolve.ts";
import { type CoreSpec, isEnumKind, isFieldKind } from "./spec.ts";

export interface CoreReloResult {
  /** Position of the record among the program's CO-RE records (the `#N` in messages). */
  index: number;
  /** Instruction index in the linked program. */
  insn: number;
  /** BPF_CORE_* */
  kind: number;
  /** libbpf's name of the kind: byte_off, field_exists, enumval_value, ... */
  kindName: string;
  localTypeId: number;
  /** The local type as C text, e.g. `struct task_struct`. */
  localType: string;
  /** Raw access string ("0:1:2") and its readable form (`task_struct->real_parent`). */
  access: { spec: string; text: string; target?: string };
  /** Target types with the same essential name and a compatible kind. */
  candidates: { id: number; name: string; module?: string }[];
  /** The first candidate that matched (all matches agree on the value). */
  chosen?: { id: number; name: string; module?: string };
  /** u64 values; decimal strings when beyond Number.MAX_SAFE_INTEGER (JSON-safe). */
  value: { local: number | string; target: number | string };
  insnBefore: string;
  insnAfter: string;
  /** What the patch did: "off 16 -> 2552", "imm 0 -> 1", "poisoned". */
  patch: string;
  poisoned: boolean;
  /** Why the relocation was poisoned (or failed). */
  error?: string;
  /** "file:line" from line_info, when known. */
  source?: string;
}

export interface ApplyCoreArgs {
  program: string;
  /** Linked program, patched in place. */
  insns: Uint8Array;
  /** Instruction indexes relative to the linked program. */
  relos: CoreRelo[];
  localBtf: Btf;
  /** The target and the BTF searched after it; or targetBtf alone. */
  targets?: TargetBtfs;
  /** A target with nothing searched after it (when `targets` is not given). */
  targetBtf?: Btf;
  /** Instruction indexes relative to the linked program. */
  lineInfo?: LineInfoSpec[];
}

/** What applyCoreRelocations needs of a linked program (src/loader/link.ts LinkedProgram). */
export interface LinkedForCore {
  spec: { name: string };
  insns: Uint8Array;
  coreRelos: CoreRelo[];
  lineInfo: LineInfoSpec[];
}

/** applyCoreRelocations on a linked program: its instructions, CO-RE records and line info. */
export function relocateLinked(lp: LinkedForCore, localBtf: Btf, targets: TargetBtfs): CoreReloResult[] {
  return applyCoreRelocations({
    program: lp.spec.name,
    insns: lp.insns,
    relos: lp.coreRelos,
    localBtf,
    targets,
    lineInfo: lp.lineInfo,
  });
}

/** Thrown for relocations that cannot be applied at all; carries what was done so far. */
export class CoreApplyError extends CoreRelocationError {
  results: CoreReloResult[] = [];
}

/** Copies the instruction bytes at `slot` (both halves of an ld_imm64) for later disassembly. */
function snapshot(insns: Uint8Array, slot: number): Uint8Array {
  const wide = insns[slot * 8] === 0x18 && (slot + 2) * 8 <= insns.length;
  return insns.slice(slot * 8, (slot + (wide ? 2 : 1)) * 8);
}

/**
 * insnBefore/insnAfter of a failed record: enumerable getters over the saved bytes
 * (disassembling each record costs more than resolving it, and only `explain` and
 * error paths read the text). Successful records get the same getters in their
 * object literal (applyCoreRelocations); defining properties on an existing object
 * costs several times more in a cold process and leaves it in dictionary mode.
 */
function lazyText(out: CoreReloResult, before: Uint8Array, after: Uint8Array): void {
  const insn = out.insn;
  Object.defineProperties(out, {
    insnBefore: { enumerable: true, configurable: true, get: () => showAt(before, insn) },
    insnAfter: { enumerable: true, configurable: true, get: () => showAt(after, insn) },
  });
}

function showAt(bytes: Uint8Array, slot: number): string {
  try {
    return disassembleInsn(decodeInsn(bytes, 0), { helperNames: true }, slot);
  } catch {
    return "?";
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function num(v: bigint): number | string {
  return v <= MAX_SAFE ? Number(v) : v.toString();
}

const sortedLines = new WeakSet<LineInfoSpec[]>();

/** "file:line" of the closest line_info at or before `insn` (line_info is sorted by insn). */
export function sourceOf(lineInfo: LineInfoSpec[] | undefined, insn: number): string | undefined {
  if (!lineInfo || lineInfo.length === 0) return undefined;
  if (!sortedLines.has(lineInfo)) {
    let sorted = true;
    for (let i = 1; i < lineInfo.length && sorted; i++)
      sorted = (lineInfo[i - 1] as LineInfoSpec).insn <= (lineInfo[i] as LineInfoSpec).insn;
    if (!sorted) lineInfo = [...lineInfo].sort((a, b) => a.insn - b.insn);
    sortedLines.add(lineInfo);
  }
  let lo = 0;
  let hi = lineInfo.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((lineInfo[mid] as LineInfoSpec).insn <= insn) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (best < 0) return undefined;
  const l = lineInfo[best] as LineInfoSpec;
  return `${l.fileName.replace(/^\.\//, "")}:${l.lineNumber}`;
}

/** `task_struct::real_parent`, `pid_type::PIDTYPE_SID`, `struct foo` for a spec. */
export function specPath(spec: CoreSpec): string {
  const btf = spec.btf;
  if (!isFieldKind(spec.kind) && !isEnumKind(spec.kind)) return formatType(btf, spec.rootTypeId);
  const root = btf.nameOf(btf.resolve(spec.rootTypeId)) || formatType(btf, spec.rootTypeId);
  if (isEnumKind(spec.kind)) return `${root}::${spec.access[0]?.name ?? "?"}`;
  let path = "";
  for (let i = 1; i < spec.access.length; i++) {
    const a = spec.access[i] as { name?: string; idx: number };
    path += a.name !== undefined ? `${path ? "." : ""}${a.name}` : `[${a.idx}]`;
  }
  const first = spec.access[0]?.idx ?? 0;
  return `${root}${first ? `[${first}]` : ""}${path ? `::${path}` : ""}`;
}

function targetsFor(args: ApplyCoreArgs): TargetBtfs {
  const t = args.targets;
  if (t) return t.memo ? t : { ...t, memo: new WeakMap() };
  if (!args.targetBtf) throw new TypeError("applyCoreRelocations: no target BTF (targets or targetBtf)");
  return coreTargets(args.targetBtf);
}

/** Why a relocation was poisoned: the shape CoreRelocationError messages carry. */
function poisonReason(r: CoreResolution, target: Btf): string {
  const what = specPath(r.localSpec);
  const where = targetLabel(target);
  if (r.candidates.length > 0) return `${what} not found in ${where}`;
  const t = essentialName(r.localSpec.btf.nameOf(r.localSpec.rootTypeId));
  return `${what} not found in ${where} (it has no type named ${t})`;
}

/** C text of the local type and the access path, memoised per object BTF (many records repeat). */
const DESCRIBED = Symbol("CO-RE local descriptions");

function describeLocal(localBtf: Btf, relo: CoreRelo): { localType: string; accessText: string } {
  const memo = localBtf.memo(DESCRIBED, () => new Map<string, { localType: string; accessText: string }>());
  const typeOnly = relo.kind === BPF_CORE.TYPE_ID_LOCAL || !(isFieldKind(relo.kind) || isEnumKind(relo.kind));
  const key = `${relo.typeId}:${typeOnly ? "" : relo.accessStr}`;
  let d = memo.get(key);
  if (!d) {
    d = { localType: "", accessText: relo.accessStr };
    try {
      d.localType = formatType(localBtf, relo.typeId);
      d.accessText = typeOnly ? d.localType : formatAccess(localBtf, relo.typeId, relo.accessStr);
    } catch {
      // The resolver reports bad access strings with the full context.
    }
    memo.set(key, d);
  }
  return d;
}

export function applyCoreRelocations(args: ApplyCoreArgs): CoreReloResult[] {
  const { program, insns, relos, localBtf, lineInfo } = args;
  const targets = targetsFor(args);
  const results: CoreReloResult[] = [];
  for (let index = 0; index < relos.length; index++) {
    const relo = relos[index] as CoreRelo;
    const source = sourceOf(lineInfo, relo.insn);
    const kindName = BPF_CORE_KIND_NAMES[relo.kind] ?? `kind#${relo.kind}`;
    const beforeBytes = snapshot(insns, relo.insn);
    const { localType, accessText } = describeLocal(localBtf, relo);
    const fail = (reason: string, partial: Partial<CoreReloResult>): never => {
      const err = new CoreApplyError(program, index, reason, source);
      const failed: CoreReloResult = {
        index,
        insn: relo.insn,
        kind: relo.kind,
        kindName,
        localTypeId: relo.typeId,
        localType,
        insnBefore: "",
        source,
        access: { spec: relo.accessStr, text: accessText },
        candidates: [],
        value: { local: 0, target: 0 },
        insnAfter: "",
        patch: "failed",
        poisoned: false,
        ...partial,
        error: reason,
      };
      lazyText(failed, beforeBytes, beforeBytes);
      results.push(failed);
      err.results = results;
      throw err;
    };
    let r: CoreResolution;
    try {
      r = resolveCoreRelo(localBtf, relo, targets);
    } catch (e) {
      return fail(`${kindName} ${accessText}: ${(e as Error).message}`, {});
    }
    const candidates = r.candidates.map((c) =>
      c.module ? { id: c.id, name: c.name, module: c.module } : { id: c.id, name: c.name },
    );
    const chosen = r.chosen
      ? r.chosen.module
        ? { id: r.chosen.id, name: r.chosen.name, module: r.chosen.module }
        : { id: r.chosen.id, name: r.chosen.name }
      : undefined;
    const value = { local: num(r.res.origVal), target: num(r.res.newVal) };
    const access = r.targetSpec
      ? { spec: relo.accessStr, text: accessText, target: r.targetSpec.raw.join(":") }
      : { spec: relo.accessStr, text: accessText };
    let patch: string;
    try {
      patch = patchInsn(insns, relo.insn, r.res);
    } catch (e) {
      return fail(`${kindName} ${accessText}: ${(e as Error).message}`, {
        candidates,
        chosen,
        value,
        access,
      });
    }
    const poisoned = patch.startsWith("poisoned");
    const afterBytes = snapshot(insns, relo.insn);
    const insn = relo.insn;
    // One literal, keys in the order `explain --json` prints them; `chosen` is
    // undefined (not printed) when nothing matched.
    const out: CoreReloResult = {
      index,
      insn,
      kind: relo.kind,
      kindName,
      localTypeId: relo.typeId,
      localType,
      get insnBefore() {
        return showAt(beforeBytes, insn);
      },
      source,
      access,
      candidates,
      chosen,
      value,
      get insnAfter() {
        return showAt(afterBytes, insn);
      },
      patch,
      poisoned,
    };
    if (poisoned)
      out.error = r.res.poison
        ? poisonReason(r, targets.vmlinux)
        : `${specPath(r.localSpec)}: ${patch.slice(10, -1)}`;
    results.push(out);
  }
  return results;
}
