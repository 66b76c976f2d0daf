// Process allowlist: every exec whose executable is not listed raises an `allowlist`
// alert. Two formats: JSON `{ "allow": ["/usr/bin/*", "/bin/ls"] }` or plain text with
// one absolute path or glob per line and `#` comments. A `.json` name or a first
// non-blank character `{` selects JSON.
import { parseConfigJson, RulesError, readConfigText } from "./errors.ts";
import type { ExecEvent } from "./events.ts";
import { compileGlob, isGlob, type Matcher } from "./glob.ts";
import type { Pos } from "./json-pos.ts";
import { normalizePath } from "./paths.ts";
import type { Rule } from "./rules.ts";
import { parseRules } from "./rules-file.ts";

export class Allowlist {
  private readonly exact = new Set<string>();
  private readonly globs: Matcher[] = [];
  constructor(readonly patterns: readonly string[]) {
    for (const p of patterns) {
      if (isGlob(p)) this.globs.push(compileGlob(p, true));
      else this.exact.add(p);
    }
  }

  allows(path: string): boolean {
    return this.exact.has(path) || this.globs.some((g) => g.test(path));
  }

  /**
   * An exec is allowed when the kernel's exe (the file it executed) is listed. The
   * execve filename string counts only when there are no kernel facts (a process
   * seeded from /proc), normalized: /usr/bin/../../tmp/x is /tmp/x. For a #! script
   * (interp set) the script, by its normalized absolute path, must be listed too; a
   * relative script path cannot be checked and is not allowed.
   */
  allowsExec(ev: ExecEvent): boolean {
    if (ev.interp !== undefined) {
      if (!ev.filename.startsWith("/") || !this.allows(normalizePath(ev.filename))) return false;
    }
    if (ev.exe_flags !== undefined && ev.exe !== undefined) return this.allows(ev.exe);
    if (ev.exe && this.allows(ev.exe)) return true;
    return ev.filename.startsWith("/") && this.allows(normalizePath(ev.filename));
  }

  /** The allowlist as a rule for evaluate(). */
  rule(): Rule {
    return {
      id: "allowlist",
      severity: "high",
      description: "executable not in the allowlist",
      check: (ev) =>
        this.allowsExec(ev)
          ? null
          : `${ev.interp !== undefined ? `script ${ev.filename} run by ` : ""}${ev.exe ?? ev.filename} is not in the allowlist`,
    };
  }
}

function checkPattern(p: string, file: string, at: Pos): string {
  if (!p.startsWith("/") && !p.startsWith("*"))
    throw new RulesError(
      file,
      at.line,
      at.column,
      `allowlist entry "${p}" must be an absolute path or a glob starting with / or *`,
    );
  try {
    compileGlob(p, true);
  } catch (e) {
    throw new RulesError(file, at.line, at.column, (e as Error).message);
  }
  return p;
}

/** Parses allowlist text; format chosen by file extension or content. */
export function parseAllowlist(text: string, file: string): Allowlist {
  const json = file.endsWith(".json") || text.trimStart().startsWith("{");
  if (!json) {
    const pats: string[] = [];
    text.split("\n").forEach((raw, i) => {
      const line = raw.replace(/\r$/, "");
      const trimmed = line.trim();
      if (trimmed === "" || trimmed.startsWith("#")) return;
      pats.push(checkPattern(trimmed, file, { line: i + 1, column: line.indexOf(trimmed) + 1 }));
    });
    return new Allowlist(pats);
  }
  const root = parseConfigJson(text, file);
  const fail = (at: Pos, why: string): never => {
    throw new RulesError(file, at.line, at.column, why);
  };
  if (root.kind !== "object")
    return fail(root, `the allowlist must be an object {"allow": [...]}, found ${root.kind}`);
  // "allow" is ours; "exact_paths" and "patterns" are the seed tutorial's format, accepted
  // so its allowlist files work unchanged (globs are accepted in either key).
  const KEYS = ["allow", "exact_paths", "patterns"];
  for (const e of root.entries)
    if (!KEYS.includes(e.key))
      fail(
        e.keyPos,
        `unknown key "${e.key}" in the allowlist (expected "allow", "exact_paths" or "patterns")`,
      );
  const lists = root.entries.filter((e) => KEYS.includes(e.key));
  if (lists.length === 0) return fail(root, `the allowlist is missing required key "allow"`);
  const pats: string[] = [];
  for (const list of lists) {
    if (list.value.kind !== "array")
      return fail(list.value, `"${list.key}" must be an array of paths, found ${list.value.kind}`);
    for (const n of list.value.items) {
      if (n.kind !== "string") return fail(n, `allowlist entries must be strings, found ${n.kind}`);
      pats.push(checkPattern(n.value, file, n));
    }
  }
  return new Allowlist(pats);
}

export function loadAllowlist(file: string): Allowlist {
  return parseAllowlist(readConfigText(file, "allowlist"), file);
}

export function loadRules(file: string): Rule[] {
  return parseRules(readConfigText(file), file);
}
