// Errors of the tracer's user-side configuration (rules and allowlist files).
import { TsbpfError } from "../errors.ts";

/** A rules or allowlist file is unreadable, malformed or invalid; message is "file:line:col: why". */
export class RulesError extends TsbpfError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(line > 0 ? `${file}:${line}:${column}: ${reason}` : `${file}: ${reason}`);
  }
}
