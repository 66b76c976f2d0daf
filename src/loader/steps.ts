// The load path reports each step it takes through an optional onStep callback, so
// `tsbpf explain` can show what the loader did (and why) next to the raw bpf() calls
// from the recorder in src/sys/bpf.ts. Plain data only: every step is JSON-friendly.

/** One CO-RE record as applied (shape owned by src/core/relocate.ts; kept open here). */
export interface CoreReloStep {
  index: number;
  insn: number;
  kind: string;
  poisoned: boolean;
  error?: string;
  [key: string]: unknown;
}

/** What the verifier reported for a loaded program. */
export interface VerifierStats {
  /** "processed N insns (limit ...)" */
  insnsProcessed?: number;
  maxStates?: number;
  totalStates?: number;
  peakStates?: number;
  markRead?: number;
  /** "verification time N usec" */
  verificationTimeUs?: number;
  /** "stack depth A+B+..." per function */
  stackDepth?: number[];
}

/** One step of a load, reported to LoadOptions.onStep (what `tsbpf explain` prints). */
export type LoadStep =
  | { step: "btf_sanitised"; changes: string[] }
  | { step: "btf_loaded"; fd: number; size: number }
  | { step: "btf_rejected"; reason: string }
  | { step: "map_created"; name: string; type: string; fd: number; attrs: Record<string, unknown> }
  | { step: "global_data_written"; map: string; bytes: number; frozen: boolean }
  | {
      step: "relocation_applied";
      program: string;
      insn: number;
      kind: string;
      target: string;
      before: string;
      after: string;
    }
  | { step: "subprog_appended"; program: string; subprog: string; at: number; insns: number }
  | { step: "core_relocation"; program: string; result: CoreReloStep }
  | { step: "extern_resolved"; name: string; kind: "kconfig" | "ksym"; value: string }
  | {
      step: "prog_loaded";
      program: string;
      fd: number;
      insns: number;
      attachBtfId?: number;
      stats?: VerifierStats;
      /** The verifier log, when the load asked for one (LoadOptions.logLevel). */
      log?: string;
    }
  | { step: "prog_rejected"; program: string; errno: string; logTail: string[] }
  | { step: "attached"; program: string; kind: string; target: string; linkFd: number };

/** Receives each LoadStep of a load. */
export type OnStep = (step: LoadStep) => void;
