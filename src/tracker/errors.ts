// Errors of the tracer's user-side configuration (rules and allowlist files).
import { TsbpfError } from "../errors.ts";
import { InputFileError, POLICY_MAX_BYTES, readInputFile } from "../input-file.ts";
import { type JsonNode, JsonSyntaxError, parseJsonWithPositions } from "./json-pos.ts";

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

/**
 * Reads a rules/allowlist file: a regular file of at most 16 MiB that only root or the
 * caller can write (input-file.ts); failures are a RulesError saying why in words.
 */
export function readConfigText(file: string, what = "rules file"): string {
  try {
    return readInputFile(file, { what, maxBytes: POLICY_MAX_BYTES, policy: true }).toString("utf8");
  } catch (e) {
    if (e instanceof InputFileError) throw new RulesError(file, 0, 0, e.reason);
    throw e;
  }
}

/** Parses a rules/allowlist file's JSON; a syntax error becomes a RulesError at file:line:col. */
export function parseConfigJson(text: string, file: string): JsonNode {
  try {
    return parseJsonWithPositions(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError)
      throw new RulesError(file, e.line, e.column, `invalid JSON: ${e.reason}`);
    throw e;
  }
}

/**
 * A trace setting names something that does not exist or cannot be used: a cgroup
 * path, a container id, a command. `setting` is the TraceConfig field it came from, so
 * a front end can name its own flag; the message names the setting and the value.
 */
export class TraceConfigError extends TsbpfError {
  override readonly exitCode: number;
  constructor(
    readonly setting: string,
    readonly value: string,
    readonly reason: string,
    /** True when the value is malformed (a usage error), false when it names nothing that exists. */
    malformed = true,
  ) {
    super(`${setting} ${value}: ${reason}`);
    this.exitCode = malformed ? 2 : 1;
  }
}

/** Tracing needs privileges this process does not have. */
export class TracePrivilegeError extends TsbpfError {
  constructor(message = "trace needs root, or CAP_BPF + CAP_PERFMON") {
    super(message);
  }
}
