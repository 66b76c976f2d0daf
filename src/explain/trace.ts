// What explain records while the loader works: the load steps, every bpf() call, which
// calls belong to a feature probe (FeatureProbes' onProbe brackets them), and which
// programs failed (LoadOptions.onProgramError, so the load goes on past them). All of
// it lands on one timeline, in order, so each BPF_PROG_LOAD call can be given to its
// program: the kernel cuts prog_name to 15 characters, and two programs of
// bpf/process.bpf.o share the same cut name.
import { TsbpfError } from "../errors.ts";
import { VerifierError } from "../loader/errors.ts";
import type { LoadStep } from "../loader/steps.ts";
import type { CollectionSpec } from "../spec.ts";
import type { BpfCallRecord } from "../sys/bpf.ts";
import { ERRNO_NAMES } from "../sys/errors.ts";
import type { ExplainReport } from "./explain.ts";

type Entry =
  | { call: BpfCallRecord; probe?: { name: string; supported: boolean } }
  | { step: LoadStep }
  | { failed: string; error: Error };

export class LoadTrace {
  readonly #timeline: Entry[] = [];
  /** Probes running now, innermost last (a probe may ask another one first). */
  readonly #probes: { name: string; supported: boolean }[] = [];

  readonly onStep = (step: LoadStep): void => {
    this.#timeline.push({ step });
  };

  readonly recorder = (call: BpfCallRecord): void => {
    const probe = this.#probes[this.#probes.length - 1];
    this.#timeline.push(probe ? { call, probe } : { call });
  };

  readonly onProbe = (name: string, answer: boolean | undefined): void => {
    if (answer === undefined) {
      this.#probes.push({ name, supported: false });
      return;
    }
    // The answer is known at the end: every call recorded under this probe shares the object.
    const p = this.#probes.pop();
    if (p) p.supported = answer;
  };

  readonly onProgramError = (program: string, error: Error): void => {
    this.#timeline.push({ failed: program, error });
  };

  get steps(): LoadStep[] {
    const out: LoadStep[] = [];
    for (const e of this.#timeline) if ("step" in e) out.push(e.step);
    return out;
  }

  /** Why `program` failed, when it did. */
  failure(program: string): Error | undefined {
    for (const e of this.#timeline) if ("failed" in e && e.failed === program) return e.error;
    return undefined;
  }

  /** The maps created so far, by fd: what a MAP_UPDATE_ELEM's key and value pointers point to. */
  mapsByFd(spec: CollectionSpec): Map<number, { name: string; keySize: number; valueSize: number }> {
    const out = new Map<number, { name: string; keySize: number; valueSize: number }>();
    for (const s of this.steps) {
      if (s.step !== "map_created") continue;
      const m = spec.maps.find((x) => x.name === s.name);
      out.set(s.fd, {
        name: s.name,
        keySize: Number(s.attrs.key_size ?? m?.keySize ?? 0),
        valueSize: Number(s.attrs.value_size ?? m?.valueSize ?? 0),
      });
    }
    return out;
  }

  /**
   * The calls for the report. A BPF_PROG_LOAD that is not a probe belongs to the program
   * whose verdict (prog_loaded, prog_rejected, or a failure) comes next on the timeline.
   */
  calls(
    programs: string[],
    attr: (c: BpfCallRecord, probe: boolean) => Record<string, unknown>,
  ): ExplainReport["bpf_calls"] {
    const out: ExplainReport["bpf_calls"] = [];
    this.#timeline.forEach((e, i) => {
      if (!("call" in e)) return;
      const c = e.call;
      let program: string | undefined;
      if (c.cmdName === "BPF_PROG_LOAD" && !e.probe) {
        for (const later of this.#timeline.slice(i + 1)) {
          const who =
            "failed" in later
              ? later.failed
              : "step" in later && (later.step.step === "prog_loaded" || later.step.step === "prog_rejected")
                ? later.step.program
                : undefined;
          if (who !== undefined) {
            program = who;
            break;
          }
        }
        if (program !== undefined && !programs.includes(program)) program = undefined;
      }
      out.push({
        cmd: c.cmdName,
        ...(e.probe ? { probe: e.probe } : {}),
        ...(program !== undefined ? { program } : {}),
        attr: attr(c, e.probe !== undefined),
        result: c.result,
        ...(c.errno ? { errno: ERRNO_NAMES[c.errno] ?? String(c.errno) } : {}),
        duration_us: Math.round(c.durationNs / 100) / 10,
      });
    });
    return out;
  }
}

type Verdict = Pick<
  ExplainReport["programs"][number],
  "verdict" | "reason" | "insns" | "stats" | "log_tail" | "verifier_log"
>;

/** The first line of an error: the reason, without the log tail a VerifierError message carries. */
function firstLine(e: Error): string {
  return e.message.split("\n")[0] as string;
}

/** What happened to one program of a load explain ran. */
export function verdictOf(
  program: string,
  trace: LoadTrace,
  loadError: string | undefined,
  wholeLog: boolean,
): Verdict {
  const steps = trace.steps;
  const ok = steps.find((s) => s.step === "prog_loaded" && s.program === program);
  if (ok && ok.step === "prog_loaded") {
    return {
      verdict: "accepted",
      insns: ok.insns,
      stats: ok.stats as Record<string, unknown> | undefined,
      ...(wholeLog && ok.log !== undefined ? { verifier_log: ok.log } : {}),
    };
  }
  const err = trace.failure(program);
  const bad = steps.find((s) => s.step === "prog_rejected" && s.program === program);
  if (bad && bad.step === "prog_rejected") {
    const log = err instanceof VerifierError ? err.log : undefined;
    return {
      verdict: "rejected",
      // The verdict already says "rejected by the verifier": the reason is what follows.
      reason: err
        ? firstLine(err).replace(`program '${program}' rejected by the verifier: `, "")
        : `the verifier refused it (${bad.errno})`,
      ...(wholeLog && log !== undefined ? { verifier_log: log } : { log_tail: bad.logTail }),
    };
  }
  if (err) return { verdict: "failed", reason: err instanceof TsbpfError ? err.message : firstLine(err) };
  return {
    verdict: "skipped",
    reason: loadError
      ? `not tried: the load stopped before this program: ${loadError.split("\n")[0]}`
      : "not tried (the loader did not reach it)",
  };
}
