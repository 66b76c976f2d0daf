// `tsbpf explain OBJ [--json] [--btf FILE] [--no-load]`: the whole load path of an
// object, step by step, for people who want to see what a BPF loader does.
import { KernelBtfError } from "../btf/errors.ts";
import { UsageError } from "../errors.ts";
import { type ExplainReport, explainObject } from "../explain/explain.ts";
import { renderExplainText } from "../explain/explain-text.ts";
import { preloadLibc } from "../sys/libc.ts";
import { parseCommandArgs } from "./args.ts";
import type { Command } from "./command.ts";
import { type CliHost, plainHost } from "./host.ts";
import { closest } from "./suggest.ts";

const help = `Usage: tsbpf explain OBJ [--json] [--btf FILE] [--no-load] [--program NAME] [--verifier-log]

Show every step of loading a BPF object: its ELF sections, the maps and each
BPF_MAP_CREATE, every relocation (instruction before -> after), every CO-RE
record (local type and access path, candidate kernel types, the chosen one,
the computed value, the instruction before and after), the externs, each
bpf() call with its decoded attributes and result (feature probes marked as
such), and a verdict per program: accepted, rejected by the verifier (reason and
log tail), failed before the verifier, or skipped (and why). A program that
fails does not stop the others. Everything is unloaded again at the end.

Options:
      --json        print one JSON object (sections, maps, relocations,
                    core_relocations, externs, bpf_calls, programs)
      --btf FILE    target BTF for CO-RE: raw BTF (e.g. from BTFHub) or an ELF
                    object whose .BTF section describes the target kernel
      --no-load     static part only: resolve CO-RE and externs, create nothing
                    in the kernel (what non-root users get anyway)
      --program NAME  report on this one program only
                    (its relocations, CO-RE records, load call and verdict;
                    the object's maps and sections stay)
      --verifier-log  print every program's whole verifier log
                    (log_level 2), accepted ones too: each instruction the
                    verifier walked with its register state; the log buffer
                    grows until it fits
  -h, --help        show this help

Examples:
  sudo tsbpf explain bpf/process.bpf.o
  tsbpf explain test/fixtures/core.bpf.o --no-load --json
  tsbpf explain bpf/process.bpf.o --program handle_exec
  sudo tsbpf explain bpf/process.bpf.o --program handle_fork --verifier-log`;

/**
 * The report narrowed to one program: its relocations, CO-RE records and verdict, and
 * of the bpf() calls the BPF_PROG_LOAD that loaded it plus those not tied to a program
 * (maps, BTF). An unknown name is a usage error that lists the names.
 */
export function onlyProgram(report: ExplainReport, name: string): ExplainReport {
  const names = report.programs.map((p) => p.name);
  if (!names.includes(name)) {
    const guess = closest(name, names);
    throw new UsageError(
      `explain: --program ${name}: no such program${guess ? ` (did you mean ${guess}?)` : ""}; the object has ${names.join(", ")}`,
    );
  }
  return {
    ...report,
    relocations: report.relocations.filter((r) => r.program === name),
    core_relocations: report.core_relocations.filter((r) => r.program === name),
    programs: report.programs.filter((p) => p.name === name),
    // Probes and the object's BTF and maps stay: the program's load needs them.
    bpf_calls: report.bpf_calls.filter((c) => c.cmd !== "BPF_PROG_LOAD" || c.probe || c.program === name),
    steps: report.steps,
  };
}

/** JSON output uses snake_case keys throughout (camelCase fields of nested results too). */
function snakeKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(snakeKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snakeKeys(x)]),
    );
  }
  return v;
}

/** The parser's options (also what the man page and completions list). */
const OPTIONS = {
  json: { type: "boolean", default: false },
  btf: { type: "string" },
  "no-load": { type: "boolean", default: false },
  program: { type: "string" },
  "verifier-log": { type: "boolean", default: false },
} as const;

const command: Command = {
  name: "explain",
  summary: "show every step of loading a BPF object",
  help,
  spec: OPTIONS,
  async run(args: string[], host: CliHost = plainHost): Promise<number> {
    const { values, positionals } = parseCommandArgs("explain", args, OPTIONS);
    if (positionals.length !== 1)
      throw new UsageError("explain: expected exactly one OBJ (see 'tsbpf explain --help')");
    if (values["verifier-log"] && values["no-load"])
      throw new UsageError(
        "explain: --verifier-log needs a load, and --no-load loads nothing: drop one of them",
      );
    const { bytes, path } = host.files.read(positionals[0] as string);
    // The target BTF is mmapped through libc: load the addon before the timed phases
    // (TSBPF_TIMING=1, read by bench/core.ts) start, as a source run does at import.
    preloadLibc();
    let report: ExplainReport = await explainObject(bytes, path, {
      btf: values.btf,
      load: !values["no-load"],
      verifierLog: values["verifier-log"],
    }).catch((e) => {
      // The library names the file "target BTF X"; here the user gave it as --btf X.
      const lib = `target BTF ${values.btf}: `;
      if (e instanceof KernelBtfError && e.message.startsWith(lib))
        throw new KernelBtfError(`--btf ${values.btf}: ${e.message.slice(lib.length)}`, { cause: e });
      throw e;
    });
    if (values.program !== undefined) report = onlyProgram(report, values.program);
    if (values.json) {
      const { steps: _steps, ...rest } = report;
      process.stdout.write(`${JSON.stringify(snakeKeys(rest), null, 2)}\n`);
    } else process.stdout.write(renderExplainText(report));
    const failed = report.programs.some((p) => p.verdict === "rejected" || p.verdict === "failed");
    return report.error || failed ? 1 : 0;
  },
};

export default command;
