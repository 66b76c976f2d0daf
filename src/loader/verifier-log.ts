// Reading the verifier log (kernel/bpf/verifier.c, log_level 1): the failing
// instruction is the last "N: (op) ..." line, the reason is the last line before the
// "processed N insns ..." summary, and the summary lines carry the statistics.
import type { LineInfoSpec } from "../spec.ts";
import type { VerifierStats } from "./steps.ts";

export function logLines(log: string): string[] {
  return log.split("\n").filter((l) => l.trim() !== "");
}

/** Index of the last instruction the verifier printed ("12: (79) r1 = ..."). */
export function lastInsnIndex(lines: string[]): number | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^(\d+): \([0-9a-f]{2}\)/.exec(lines[i] as string);
    if (m) return Number(m[1]);
  }
  return undefined;
}

const SUMMARY = [/^processed \d+ insns/, /^verification time/, /^stack depth/, /^-- END PROG LOAD LOG --/];

/** The verifier's reason: the last line that is not a summary or a register/insn dump. */
export function rejectionReason(lines: string[]): string {
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = (lines[i] as string).trim();
    if (SUMMARY.some((r) => r.test(l))) continue;
    if (/^\d+: /.test(l) || l.startsWith(";")) continue;
    return l;
  }
  return "(no reason in the verifier log)";
}

/** Statistics from the summary lines of a successful or failed load's log. */
export function verifierStats(log: string): VerifierStats | undefined {
  const s: VerifierStats = {};
  const p =
    /processed (\d+) insns \(limit \d+\) max_states_per_insn (\d+) total_states (\d+) peak_states (\d+) mark_read (\d+)/.exec(
      log,
    );
  if (p) {
    s.insnsProcessed = Number(p[1]);
    s.maxStates = Number(p[2]);
    s.totalStates = Number(p[3]);
    s.peakStates = Number(p[4]);
    s.markRead = Number(p[5]);
  }
  const t = /verification time (\d+) usec/.exec(log);
  if (t) s.verificationTimeUs = Number(t[1]);
  const d = /stack depth ([\d+]+)/.exec(log);
  if (d) s.stackDepth = (d[1] as string).split("+").filter(Boolean).map(Number);
  return Object.keys(s).length ? s : undefined;
}

/** The line_info record that covers instruction `insn` (the last one at or before it). */
export function lineFor(lineInfo: LineInfoSpec[], insn: number): LineInfoSpec | undefined {
  let best: LineInfoSpec | undefined;
  for (const l of lineInfo) if (l.insn <= insn && (!best || l.insn >= best.insn)) best = l;
  return best;
}
