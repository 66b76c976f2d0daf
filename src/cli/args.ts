// Thin wrapper over node:util parseArgs that turns its errors into UsageError (exit 2)
// with a one-line reason instead of a Node stack trace.
import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "../errors.ts";
import { closest } from "./suggest.ts";

/**
 * parseArgs's messages, reworded to one short line. Its unknown-option text goes on
 * about positionals after '--', and the "ambiguous" one (a value that starts with '-')
 * spans three lines; both are rewritten to say what was wrong and how to write it.
 */
function reword(e: unknown, options: NonNullable<ParseArgsConfig["options"]>): string {
  const msg = e instanceof Error ? e.message : String(e);
  const unknown = /^Unknown option '([^']*)'/.exec(msg);
  if (unknown) {
    const opt = unknown[1] as string;
    const flags = Object.keys(options).map((k) => `--${k}`);
    const guess = opt.startsWith("--") ? closest(opt.split("=")[0] as string, flags) : undefined;
    return `unknown option '${opt}'${guess ? ` (did you mean ${guess}?)` : ""}`;
  }
  const ambiguous = /^Option '([^' ]*)' argument is ambiguous/.exec(msg);
  if (ambiguous) {
    const opt = ambiguous[1] as string;
    return `${opt} needs a value; a value starting with '-' must be written ${opt}=VALUE`;
  }
  // "Option '-d, --duration <value>' argument missing": name the long form.
  const missing = /^Option '(?:-\w, )?([^' ]*)(?: <value>)?' argument missing/.exec(msg);
  if (missing) return `${missing[1]} needs a value`;
  const noValue = /^Option '(?:-\w, )?([^' ]*)' does not take an argument/.exec(msg);
  if (noValue) return `${noValue[1]} takes no value`;
  return (msg.split("\n")[0] as string).replace(/\.$/, "");
}

/** What parseArgs returns for these options (named, so the package's declarations can say it). */
type Parsed<T extends NonNullable<ParseArgsConfig["options"]>> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T; allowPositionals: boolean; strict: true }>
>;

export function parseCommandArgs<T extends NonNullable<ParseArgsConfig["options"]>>(
  command: string,
  args: string[],
  options: T,
  allowPositionals = true,
): Parsed<T> {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: T; allowPositionals: boolean; strict: true; tokens: true }>
  >;
  try {
    parsed = parseArgs({ args, options, allowPositionals, strict: true, tokens: true });
  } catch (e) {
    throw new UsageError(`${command}: ${reword(e, options)} (see 'tsbpf ${command} --help')`);
  }
  refuseRepeats(command, parsed.tokens ?? [], options);
  const { tokens: _, ...rest } = parsed;
  return rest as Parsed<T>;
}

/**
 * parseArgs keeps the last of a repeated option's values and drops the others without
 * a word (`--pid 1 --pid 2` traced pid 2 only). Every option here takes one value, so
 * a second one is refused, naming both.
 */
function refuseRepeats(
  command: string,
  tokens: readonly { kind: string; name?: string; rawName?: string; value?: string }[],
  options: NonNullable<ParseArgsConfig["options"]>,
): void {
  const seen = new Map<string, string>();
  for (const t of tokens) {
    if (t.kind !== "option" || t.name === undefined) continue;
    const o = options[t.name];
    if (o === undefined || o.type !== "string" || o.multiple === true) continue;
    const given = `${t.rawName} ${t.value ?? ""}`.trimEnd();
    const first = seen.get(t.name);
    if (first !== undefined)
      throw new UsageError(
        `${command}: --${t.name} given twice ('${first}', '${given}'); it takes one value (see 'tsbpf ${command} --help')`,
      );
    seen.set(t.name, given);
  }
}
