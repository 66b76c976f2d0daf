// Thin wrapper over node:util parseArgs that turns its errors into UsageError (exit 2)
// with a one-line reason instead of a Node stack trace.
import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "../errors.ts";

export function parseCommandArgs<T extends NonNullable<ParseArgsConfig["options"]>>(
  command: string,
  args: string[],
  options: T,
  allowPositionals = true,
) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (e) {
    const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new UsageError(`${command}: ${msg.replace(/\.$/, "")} (see 'tsbpf ${command} --help')`);
  }
}
