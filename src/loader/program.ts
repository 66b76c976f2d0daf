// BPF_PROG_LOAD of one linked, relocated program: license, types, name, flags, BTF
// func_info/line_info, the attach target of tracing programs (resolved in the running
// kernel's BTF) and the verifier log. The log is only asked for when a load fails
// (or when the caller wants statistics): a first attempt without a log keeps the
// common path fast, the retry with log_level 1 explains the failure.
import type { Btf } from "../btf/btf.ts";
import { CoreRelocationError } from "../core/errors.ts";
import type { CoreReloResult } from "../core/relocate.ts";
import { kernelObjectName } from "../maps/map.ts";
import { progLoad, SyscallError } from "../sys/bpf.ts";
import type { FeatureProbes } from "../sys/features.ts";
import { BPF_ATTACH_TYPE, BPF_F_SLEEPABLE } from "../uapi.ts";
import { LoadError, UnsupportedProgramError, VerifierError } from "./errors.ts";
import { haveTrampolines } from "./features.ts";
import type { LinkedProgram } from "./link.ts";
import { POISON_CALL_KFUNC_BASE } from "./relocate.ts";
import type { OnStep, VerifierStats } from "./steps.ts";
import { lastInsnIndex, lineFor, logLines, rejectionReason, verifierStats } from "./verifier-log.ts";

/** libbpf's POISON_CALL_CORE (0xbad2310): the helper id a failed CO-RE relocation leaves behind. */
export const CORE_POISON_IMM = 0xbad2310;

export const TRAMPOLINE_MESSAGE =
  "fentry/fexit programs need BPF trampolines, which this kernel lacks (CONFIG_FUNCTION_TRACER / DYNAMIC_FTRACE_WITH_DIRECT_CALLS is off); use tp_btf or raw_tracepoint instead";

export interface ProgramLoadOptions {
  objectPath: string;
  license: string;
  kernVersion: number;
  btfFd?: number;
  funcInfoRecSize?: number;
  lineInfoRecSize?: number;
  fdArray?: number[];
  /** 0: log only on failure (default); 1/2: always log, report verifier stats. */
  logLevel?: number;
  /** CO-RE results (only what explains a rejection: poisoned records are read). */
  coreResults?: CorePoison[];
  /** attach_btf_id already known (from the CO-RE cache): skips the kernel BTF lookup. */
  attachBtfId?: number;
  /** BTF of the RUNNING kernel, where attach targets are (even when CO-RE used another target). */
  kernelBtf: () => Btf;
  /** Where feature probes (trampolines) are answered and kept. */
  features: FeatureProbes;
  onStep?: OnStep;
}

/** What rejection() needs of a CO-RE result; the CO-RE cache stores just this. */
export type CorePoison = Pick<CoreReloResult, "index" | "insn" | "poisoned" | "error" | "source">;

export interface LoadedProgramInfo {
  fd: number;
  insns: number;
  attachBtfId?: number;
  stats?: VerifierStats;
  log?: string;
}

const TRAMPOLINE_KINDS = new Set(["fentry", "fexit", "fmod_ret", "lsm"]);

/** attach_btf_id for tp_btf / fentry / fexit / fmod_ret / lsm programs, else undefined. */
export function attachBtfIdFor(
  lp: LinkedProgram,
  objectPath: string,
  kernelBtf: () => Btf,
): number | undefined {
  const p = lp.spec;
  let name: string;
  let kind: "typedef" | "func";
  if (p.attach === "tp_btf") {
    name = `btf_trace_${p.attachTo}`;
    kind = "typedef";
  } else if (p.attach === "fentry" || p.attach === "fexit" || p.attach === "fmod_ret") {
    name = p.attachTo;
    kind = "func";
  } else if (p.attach === "lsm") {
    name = `bpf_lsm_${p.attachTo}`;
    kind = "func";
  } else if (p.attach === "iter") {
    // Iterator targets are the kernel's bpf_iter_<target> functions (DEFINE_BPF_ITER_FUNC).
    name = `bpf_iter_${p.attachTo}`;
    kind = "func";
  } else return undefined;
  if (!p.attachTo) {
    throw new LoadError(
      `${objectPath}: program '${p.name}' (SEC("${p.section}")) names no attach target; use SEC("${p.section}/<target>")`,
    );
  }
  const kernel = kernelBtf();
  const ids = kernel.findByNameKind(name, kind);
  if (ids.length === 0) {
    const what =
      p.attach === "tp_btf"
        ? `tracepoint '${p.attachTo}' (no ${name} typedef)`
        : p.attach === "iter"
          ? `iterator target '${p.attachTo}' (no ${name} function)`
          : `function '${name}'`;
    throw new LoadError(
      `${objectPath}: program '${p.name}': ${what} not found in kernel BTF (${kernel.name})`,
    );
  }
  return ids[0];
}

function encodeFuncInfo(lp: LinkedProgram, recSize: number): Uint8Array {
  const out = new Uint8Array(new ArrayBuffer(lp.funcInfo.length * recSize));
  const dv = new DataView(out.buffer);
  lp.funcInfo.forEach((f, i) => {
    dv.setUint32(i * recSize, f.insn, true);
    dv.setUint32(i * recSize + 4, f.typeId, true);
  });
  return out;
}

function encodeLineInfo(lp: LinkedProgram, recSize: number): Uint8Array {
  const out = new Uint8Array(new ArrayBuffer(lp.lineInfo.length * recSize));
  const dv = new DataView(out.buffer);
  lp.lineInfo.forEach((l, i) => {
    const o = i * recSize;
    dv.setUint32(o, l.insn, true);
    dv.setUint32(o + 4, l.fileNameOff, true);
    dv.setUint32(o + 8, l.lineOff, true);
    dv.setUint32(o + 12, l.lineCol, true);
  });
  return out;
}

function readLog(buf: Uint8Array): string {
  const end = buf.indexOf(0);
  return new TextDecoder().decode(buf.subarray(0, end < 0 ? buf.length : end));
}

export function loadProgram(lp: LinkedProgram, o: ProgramLoadOptions): LoadedProgramInfo {
  const p = lp.spec;
  const attachBtfId = o.attachBtfId ?? attachBtfIdFor(lp, o.objectPath, o.kernelBtf);
  if (TRAMPOLINE_KINDS.has(p.attach) && attachBtfId !== undefined) {
    if (!haveTrampolines(o.features, attachBtfId, BPF_ATTACH_TYPE.BPF_TRACE_FENTRY)) {
      throw new UnsupportedProgramError(`program '${p.name}' (SEC("${p.section}")): ${TRAMPOLINE_MESSAGE}`);
    }
  }
  const withBtf = o.btfFd !== undefined;
  const fdArray =
    o.fdArray && o.fdArray.length > 0
      ? new Uint8Array(new Uint32Array(o.fdArray).buffer.slice(0))
      : undefined;
  const base = {
    prog_type: p.progType,
    insns: lp.insns,
    license: o.license,
    kern_version: o.kernVersion,
    prog_flags: (p.sleepable ? BPF_F_SLEEPABLE : 0) | (p.progFlags ?? 0),
    prog_name: kernelObjectName(p.name),
    expected_attach_type: p.expectedAttachType,
    attach_btf_id: attachBtfId,
    fd_array: fdArray,
    ...(withBtf && lp.funcInfo.length
      ? {
          prog_btf_fd: o.btfFd,
          func_info_rec_size: o.funcInfoRecSize ?? 8,
          func_info: encodeFuncInfo(lp, o.funcInfoRecSize ?? 8),
          func_info_cnt: lp.funcInfo.length,
        }
      : withBtf
        ? { prog_btf_fd: o.btfFd }
        : {}),
    ...(withBtf && lp.lineInfo.length
      ? {
          line_info_rec_size: o.lineInfoRecSize ?? 16,
          line_info: encodeLineInfo(lp, o.lineInfoRecSize ?? 16),
          line_info_cnt: lp.lineInfo.length,
        }
      : {}),
  };
  const what = `program '${p.name}'`;
  const insns = lp.insns.length / 8;
  const done = (fd: number, log?: string): LoadedProgramInfo => {
    const stats = log ? verifierStats(log) : undefined;
    o.onStep?.({
      step: "prog_loaded",
      program: p.name,
      fd,
      insns,
      attachBtfId,
      stats,
      ...(log !== undefined ? { log } : {}),
    });
    return { fd, insns, attachBtfId, stats, log };
  };

  let firstErr: SyscallError | undefined;
  if (!o.logLevel) {
    try {
      return done(progLoad(base, what));
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      firstErr = e;
      if (e.code === "EPERM") throw privilegeOrTrampoline(e, lp, attachBtfId, o.features);
      if (e.code === "EAGAIN") throw interrupted(p.name);
    }
  }
  // With a log: start at 1 MiB, grow on ENOSPC to what the kernel says it needs.
  let size = 1 << 20;
  for (;;) {
    const buf = new Uint8Array(new ArrayBuffer(size));
    const out: { logTrueSize?: number } = {};
    try {
      const fd = progLoad({ ...base, log_level: o.logLevel || 1, log_buf: buf }, what, out);
      return done(fd, readLog(buf));
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      if (e.code === "ENOSPC" && size < 1 << 28) {
        size = Math.min(1 << 28, Math.max(size * 4, (out.logTrueSize ?? 0) + 1));
        continue;
      }
      if (e.code === "EPERM") throw privilegeOrTrampoline(e, lp, attachBtfId, o.features);
      if (e.code === "EAGAIN") throw interrupted(p.name);
      throw rejection(lp, o, readLog(buf), firstErr ?? e);
    }
  }
}

/** Every try was cut short by a pending signal (progLoad already retried): no verdict. */
function interrupted(name: string): LoadError {
  return new LoadError(
    `program '${name}': the verifier was interrupted by signals on every try (EAGAIN), so it gave no verdict; ` +
      "a profiler's SIGPROF (node --cpu-prof) or a signal storm causes this: run without it",
  );
}

function privilegeOrTrampoline(
  e: SyscallError,
  lp: LinkedProgram,
  attachBtfId: number | undefined,
  features: FeatureProbes,
): Error {
  const p = lp.spec;
  if (
    TRAMPOLINE_KINDS.has(p.attach) &&
    attachBtfId !== undefined &&
    !haveTrampolines(features, attachBtfId, BPF_ATTACH_TYPE.BPF_TRACE_FENTRY)
  ) {
    return new UnsupportedProgramError(`program '${p.name}' (SEC("${p.section}")): ${TRAMPOLINE_MESSAGE}`);
  }
  return e;
}

function rejection(lp: LinkedProgram, o: ProgramLoadOptions, log: string, err: SyscallError): Error {
  const p = lp.spec;
  const lines = logLines(log);
  const tail = lines.slice(-20);
  o.onStep?.({ step: "prog_rejected", program: p.name, errno: err.code, logTail: tail });
  if (lines.length === 0) return err;
  const insn = lastInsnIndex(lines);
  const reason = rejectionReason(lines);
  // A poisoned CO-RE instruction: explain the relocation, not the verifier symptom.
  const insnImm =
    insn !== undefined && insn < lp.insns.length / 8
      ? new DataView(lp.insns.buffer, lp.insns.byteOffset + insn * 8 + 4, 4).getInt32(0, true)
      : undefined;
  if (insnImm === CORE_POISON_IMM || reason.includes(`unknown#${CORE_POISON_IMM}`)) {
    const results = o.coreResults ?? [];
    const r = results.find((x) => x.poisoned && x.insn === insn) ?? results.find((x) => x.poisoned);
    if (r) {
      const src = r.source ?? sourceOf(lp, r.insn);
      return new CoreRelocationError(p.name, r.index, r.error ?? "relocation could not be resolved", src);
    }
  }
  const m = /unknown#(\d+)/.exec(reason);
  if (m && Number(m[1]) >= POISON_CALL_KFUNC_BASE && Number(m[1]) < POISON_CALL_KFUNC_BASE + 100000) {
    return new LoadError(
      `program '${p.name}': calls a weak kfunc that this kernel does not have (extern #${Number(m[1]) - POISON_CALL_KFUNC_BASE}); guard the call with bpf_ksym_exists()`,
    );
  }
  let where = "";
  if (insn !== undefined) {
    const l = lineFor(lp.lineInfo, insn);
    where = l ? ` (insn ${insn}, ${l.fileName}:${l.lineNumber}: "${l.line.trim()}")` : ` (insn ${insn})`;
  }
  const msg = `program '${p.name}' rejected by the verifier: ${reason}${where}\nverifier log (last ${tail.length} lines):\n  ${tail.join("\n  ")}`;
  return new VerifierError(msg, { program: p.name, log, insn, errno: err.errno });
}

function sourceOf(lp: LinkedProgram, insn: number): string | undefined {
  const l = lineFor(lp.lineInfo, insn);
  return l ? `${l.fileName}:${l.lineNumber}` : undefined;
}
