// Gathers everything `tsbpf explain` shows about loading one object: ELF sections,
// maps, relocations, every CO-RE record resolved step by step, externs, the raw
// bpf() calls (the load's recorder) and the verifier's verdict per program. It sits above
// the loader: it observes a load through LoadOptions (onStep, recorder), nothing more.
// With `load: false` (or as non-root) only the static part is computed: CO-RE and
// externs are still resolved (reading kernel BTF needs no privileges), nothing is
// created in the kernel.
import type { Btf } from "../btf/btf.ts";
import type { TargetBtfs } from "../core/candidates.ts";
import { resolveExterns } from "../core/externs.ts";
import { type CoreReloResult, relocateLinked } from "../core/relocate.ts";
import { readCollectionSpec } from "../elf/collection.ts";
import type { MapDesc } from "../elf/describe.ts";
import { parseElf } from "../elf/elf.ts";
import { TsbpfError } from "../errors.ts";
import { type AttachPlan, describeAttach } from "../link/describe.ts";
import { loadCollection } from "../loader/collection.ts";
import { linkProgram } from "../loader/link.ts";
import type { LoadStep } from "../loader/steps.ts";
import { chooseTargets, type TargetChoice } from "../loader/target-btf.ts";
import type { CollectionSpec } from "../spec.ts";
import { FeatureProbes } from "../sys/features.ts";
import { phase } from "../timing.ts";
import type { AccessStep } from "./access.ts";
import { readableAttr } from "./attrs.ts";
import { type CoreBtfs, coreRecord } from "./core-record.ts";
import { LoadTrace, verdictOf } from "./trace.ts";

const SHT_NAMES: Record<number, string> = {
  0: "NULL",
  1: "PROGBITS",
  2: "SYMTAB",
  3: "STRTAB",
  4: "RELA",
  8: "NOBITS",
  9: "REL",
  18: "SYMTAB_SHNDX",
  1879002115: "LLVM_ADDRSIG",
};

export interface ExplainReport {
  object: string;
  target_btf: string;
  loaded: boolean;
  /** 1 (statistics, the failing path of a rejection) or 2 (every instruction verified: --verifier-log). */
  verifier_log_level?: number;
  note?: string;
  error?: string;
  sections: { index: number; name: string; type: string; size: number; flags: string }[];
  /** The inspect description of each map, plus the fd once created. */
  maps: (MapDesc & { fd?: number })[];
  relocations: {
    program: string;
    insn: number;
    kind: string;
    symbol?: string;
    target: string;
    before?: string;
    after?: string;
    /**
     * A 64-bit constant loaded by the patched ld_imm64, as unsigned hex. llvm-objdump
     * syntax prints it signed, so 0xffffffff81000000 appears as -0x7f000000 in `after`.
     */
    imm64?: string;
  }[];
  /** CoreReloResult with `kind` as libbpf's kind name and each access index spelled out. */
  core_relocations: (Omit<CoreReloResult, "kind" | "kindName" | "access"> & {
    program: string;
    kind: string;
    access: CoreReloResult["access"] & { steps?: AccessStep[]; target_steps?: AccessStep[] };
  })[];
  externs: { name: string; kind: string; weak?: boolean; value: string }[];
  bpf_calls: {
    cmd: string;
    /** The feature probe this call belongs to (not the object's own call), with its answer. */
    probe?: { name: string; supported: boolean };
    /** The program a BPF_PROG_LOAD loads (prog_name is cut to 15 characters by the kernel). */
    program?: string;
    attr: Record<string, unknown>;
    result: number;
    errno?: string;
    duration_us: number;
  }[];
  programs: {
    name: string;
    section: string;
    type: string;
    /**
     * accepted / rejected (by the verifier) / failed (before the verifier: linking,
     * CO-RE, attach target) / skipped (the load stopped before it: `reason` says at
     * what) / static (nothing was loaded: --no-load or not root).
     */
    verdict: "accepted" | "rejected" | "failed" | "skipped" | "static";
    /** One line: why it was rejected, failed or skipped (or why its CO-RE failed, when static). */
    reason?: string;
    insns?: number;
    stats?: Record<string, unknown>;
    /** The last lines of a rejected program's verifier log (when the whole log is not asked for). */
    log_tail?: string[];
    /** The whole verifier log, accepted or rejected (--verifier-log). */
    verifier_log?: string;
    /** How the program would be attached (explain loads, but attaches nothing). */
    attach?: AttachPlan;
  }[];
  steps: LoadStep[];
}

function jsonSafe(v: unknown): unknown {
  if (typeof v === "bigint")
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= 0n ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return `<${v.byteLength} bytes>`;
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonSafe(x)]));
  return v;
}

function staticPart(spec: CollectionSpec, bytes: Uint8Array, report: ExplainReport): void {
  const elf = parseElf(bytes, spec.path);
  for (const s of elf.sections) {
    if (s.index === 0) continue;
    const flags = `${s.flags & 1 ? "W" : ""}${s.flags & 2 ? "A" : ""}${s.flags & 4 ? "X" : ""}`;
    report.sections.push({
      index: s.index,
      name: s.name,
      type: SHT_NAMES[s.type] ?? `0x${s.type.toString(16)}`,
      size: s.size,
      flags,
    });
  }
  for (const m of spec.maps) {
    report.maps.push({
      name: m.name,
      type: m.typeName,
      key_size: m.keySize,
      value_size: m.valueSize,
      max_entries: m.maxEntries,
      flags: m.flags,
      pinning: m.pinning,
      ...(m.globalData ? { section: m.globalData.section } : {}),
    });
  }
}

/** One program's static outcome: its linked form and CO-RE results, or why they stopped. */
interface StaticProgram {
  p: CollectionSpec["programs"][number];
  lp: ReturnType<typeof linkProgram>;
  core: CoreReloResult[];
  error?: string;
}

/**
 * Links every program and resolves its CO-RE records: the work TSBPF_TIMING's "CO-RE
 * resolved" mark brackets (bench/core.ts). The report is assembled afterwards
 * (reportStatic), so the mark does not include explain's own formatting.
 */
function resolveStatic(spec: CollectionSpec, targets: TargetBtfs): StaticProgram[] {
  const out: StaticProgram[] = [];
  for (const p of spec.programs) {
    const lp = linkProgram(spec, p);
    if (lp.coreRelos.length === 0 || !spec.btf) {
      out.push({ p, lp, core: [] });
      continue;
    }
    try {
      out.push({ p, lp, core: relocateLinked(lp, spec.btf, targets) });
    } catch (e) {
      const core = (e as { results?: CoreReloResult[] }).results ?? [];
      out.push({ p, lp, core, error: (e as Error).message });
    }
  }
  return out;
}

function reportStatic(programs: StaticProgram[], report: ExplainReport, btfs: CoreBtfs): void {
  for (const { p, lp, core, error } of programs) {
    for (const r of lp.relocations) {
      const target =
        r.kind === "map"
          ? `map ${r.map}`
          : r.kind === "data"
            ? `${r.map}+${r.offset}`
            : r.kind === "extern"
              ? `extern ${r.name}`
              : r.kind === "call" || r.kind === "func"
                ? r.target
                : "";
      report.relocations.push({ program: p.name, insn: r.insn, kind: r.kind, symbol: r.symbol, target });
    }
    for (const r of core) report.core_relocations.push(coreRecord(p.name, r, btfs));
    if (error !== undefined)
      report.programs.push({
        name: p.name,
        section: p.section,
        type: p.typeName,
        verdict: "static",
        reason: error,
      });
  }
}

/**
 * Each extern resolved on its own, so one failure (e.g. /proc/kallsyms hiding
 * addresses from non-root users) does not hide the others.
 */
function explainExterns(spec: CollectionSpec, t: TargetChoice): ExplainReport["externs"] {
  const out: ExplainReport["externs"] = [];
  for (const e of spec.externs) {
    try {
      const ex = resolveExterns({ ...spec, externs: [e] }, t.target(), {
        ksymBtf: () => t.kernel(),
        modules: () => t.ksymModules(),
      });
      for (const x of ex.explain) out.push({ ...x, weak: e.weak });
    } catch (err) {
      if (!(err instanceof TsbpfError)) throw err;
      out.push({ name: e.name, kind: e.kind, weak: e.weak, value: `error: ${err.message}` });
    }
  }
  return out;
}

export interface ExplainOptions {
  /** Path of a target BTF file instead of the running kernel's. */
  btf?: string;
  /** A target BTF given as a value (wins over `btf`). */
  targetBtf?: Btf;
  load: boolean;
  /**
   * Keep every program's whole verifier log, accepted ones too. Loads with log_level 2:
   * at level 1 the verifier keeps only the path that failed, so an accepted program's
   * level-1 log is just its statistics; level 2 has every instruction it walked.
   */
  verifierLog?: boolean;
}

export async function explainObject(
  bytes: Uint8Array,
  path: string,
  opts: ExplainOptions,
): Promise<ExplainReport> {
  phase("explain: started");
  const spec = readCollectionSpec(bytes, path);
  phase("explain: ELF parsed");
  const report: ExplainReport = {
    object: path,
    target_btf: opts.btf ?? "/sys/kernel/btf/vmlinux",
    loaded: false,
    sections: [],
    maps: [],
    relocations: [],
    core_relocations: [],
    externs: [],
    bpf_calls: [],
    programs: [],
    steps: [],
  };
  // Read the target BTF first: a missing or bad --btf file is the user's first problem.
  const choice = chooseTargets({ btf: opts.btf, targetBtf: opts.targetBtf });
  const target = choice.target();
  phase("explain: target BTF read");
  if (opts.btf === undefined) report.target_btf = target.name;
  const btfs: CoreBtfs = { local: spec.btf, target };
  const root = process.getuid?.() === 0;
  const load = opts.load && root;
  if (opts.load && !root)
    report.note = "static part only: loading needs root (run as root, or pass --no-load)";
  if (!load) {
    // CO-RE before the rest of the report, so TSBPF_TIMING shows the resolution alone.
    const resolved = resolveStatic(spec, choice.targets());
    phase(`explain: CO-RE resolved (${resolved.reduce((n, x) => n + x.core.length, 0)} relocations)`);
    reportStatic(resolved, report, btfs);
    staticPart(spec, bytes, report);
    report.externs = explainExterns(spec, choice);
    for (const p of spec.programs) {
      if (!report.programs.some((x) => x.name === p.name))
        report.programs.push({ name: p.name, section: p.section, type: p.typeName, verdict: "static" });
    }
    return withAttachPlans(report, spec);
  }
  staticPart(spec, bytes, report);
  // Externs, explained (the loader resolves them again itself, identically).
  report.externs = explainExterns(spec, choice);
  const trace = new LoadTrace();
  report.verifier_log_level = opts.verifierLog ? 2 : 1;
  try {
    const coll = await loadCollection(spec, {
      onStep: trace.onStep,
      recorder: trace.recorder,
      features: new FeatureProbes({ onProbe: trace.onProbe }),
      onProgramError: trace.onProgramError,
      targetBtf: choice.given,
      btfCache: choice.btfCache,
      // A log on success too: level 1 gives each verdict its statistics, level 2
      // (--verifier-log) every instruction the verifier walked.
      logLevel: report.verifier_log_level,
    });
    report.loaded = true;
    coll.close();
  } catch (e) {
    if (!(e instanceof TsbpfError)) throw e;
    report.error = e.message;
  }
  const steps = trace.steps;
  // The logs travel in report.programs; the steps keep the rest.
  report.steps = jsonSafe(
    steps.map((s) => (s.step === "prog_loaded" && s.log !== undefined ? { ...s, log: undefined } : s)),
  ) as LoadStep[];
  // A probe's own map may have had an fd number the object's maps reuse later.
  const maps = trace.mapsByFd(spec);
  const noMaps: typeof maps = new Map();
  report.bpf_calls = trace.calls(
    spec.programs.map((p) => p.name),
    (c, probe) => readableAttr(jsonSafe(c.attr) as Record<string, unknown>, { maps: probe ? noMaps : maps }),
  );
  for (const s of steps) {
    if (s.step === "relocation_applied") {
      report.relocations.push({
        program: s.program,
        insn: s.insn,
        kind: s.kind,
        target: s.target,
        before: s.before,
        after: s.after,
        ...imm64Of(s.after),
      });
    } else if (s.step === "core_relocation") {
      report.core_relocations.push(coreRecord(s.program, s.result as unknown as CoreReloResult, btfs));
    } else if (s.step === "map_created") {
      const m = report.maps.find((x) => x.name === s.name);
      if (m) m.fd = s.fd;
    }
  }
  for (const p of spec.programs)
    report.programs.push({
      name: p.name,
      section: p.section,
      type: p.typeName,
      ...verdictOf(p.name, trace, report.error, opts.verifierLog === true),
    });
  return withAttachPlans(report, spec);
}

/** `imm64` of a patched `rX = <negative> ll`: the same constant, unsigned, as the kernel sees it. */
function imm64Of(after: string): { imm64?: string } {
  const m = / = (-0x[0-9a-f]+) ll$/.exec(after);
  if (!m) return {};
  return { imm64: `0x${BigInt.asUintN(64, -BigInt((m[1] as string).slice(1))).toString(16)}` };
}

/** Adds each program's attach plan (the attach step explain describes but does not take). */
function withAttachPlans(report: ExplainReport, spec: CollectionSpec): ExplainReport {
  for (const r of report.programs) {
    const p = spec.programs.find((x) => x.name === r.name);
    if (p) r.attach = describeAttach(p);
  }
  return report;
}
