// Errors of the tracer's user-side configuration (rules and allowlist files).
import { readFileSync } from "node:fs";
import { TsbpfError } from "../errors.ts";
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

const READ_ERRORS: Record<string, string> = {
  ENOENT: "no such file",
  EISDIR: "it is a directory, expected a file",
  EACCES: "permission denied",
};

/** Reads a rules/allowlist file; failures are a RulesError saying why in words. */
export function readConfigText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code ? `${READ_ERRORS[code] ?? "error"} (${code})` : (e as Error).message;
    throw new RulesError(file, 0, 0, `cannot read the file: ${why}`);
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
