// User rule files: JSON `{ "rules": [ { id, severity, description, match: {...} } ] }`.
// Validation is strict (unknown keys, wrong types, bad globs/regexes, bad severity)
// and every error names file:line:column, from the position-tracking parser.

import { parseConfigJson, RulesError } from "./errors.ts";
import type { ExecEvent, Severity } from "./events.ts";
import { compileGlob, type Matcher } from "./glob.ts";
import type { JsonEntry, JsonNode, Pos } from "./json-pos.ts";
import { compileRegex, PatternSyntaxError } from "./match/regex.ts";
import { normalizePath } from "./paths.ts";
import type { ProcessEntry } from "./process-table.ts";
import { basename, type Rule, type RuleContext } from "./rules.ts";

/** Ancestors a `parent`/`ancestor` condition looks at (docs/rules.md). */
export const MAX_ANCESTORS = 32;
const SEVERITIES: readonly Severity[] = ["low", "medium", "high", "critical"];
const MATCH_KEYS = ["path", "path_regex", "args", "args_regex", "parent", "ancestor", "uid", "comm"] as const;

/** The conditions of one user rule, compiled. All present conditions must match. */
export interface RuleMatch {
  path?: Matcher;
  path_regex?: Matcher;
  args?: Matcher;
  args_regex?: Matcher;
  parent?: Matcher;
  ancestor?: Matcher;
  uid?: number[];
  comm?: Matcher;
}

class Validator {
  constructor(readonly file: string) {}
  fail(at: Pos, reason: string): never {
    throw new RulesError(this.file, at.line, at.column, reason);
  }
  object(
    n: JsonNode,
    what: string,
    allowed: readonly string[],
    required: readonly string[] = [],
  ): Map<string, JsonEntry> {
    if (n.kind !== "object") this.fail(n, `${what} must be an object, found ${n.kind}`);
    const m = new Map<string, JsonEntry>();
    for (const e of n.entries) {
      if (!allowed.includes(e.key))
        this.fail(e.keyPos, `unknown key "${e.key}" in ${what} (expected one of: ${allowed.join(", ")})`);
      m.set(e.key, e);
    }
    for (const r of required) if (!m.has(r)) this.fail(n, `${what} is missing required key "${r}"`);
    return m;
  }
  string(n: JsonNode, what: string): string {
    if (n.kind !== "string") this.fail(n, `${what} must be a string, found ${n.kind}`);
    if (n.value === "") this.fail(n, `${what} must not be empty`);
    return n.value;
  }
  /** A user regex, through the linear-time engine; errors point at the offending character. */
  private compile(n: JsonNode, what: string, source: string, flags: string, at: number): Matcher {
    try {
      return compileRegex(source, flags);
    } catch (e) {
      if (!(e instanceof PatternSyntaxError)) throw e;
      // The pattern starts after the opening quote (and the "/" of a /regex/ form).
      const col = n.column + 1 + at + e.offset;
      return this.fail(
        { line: n.line, column: col },
        `${what}: ${e.reason}. Rule regexes are matched in linear time (RE2 syntax; see docs/rules.md)`,
      );
    }
  }
  regex(n: JsonNode, what: string): Matcher {
    return this.compile(n, what, this.string(n, what), "", 0);
  }
  glob(n: JsonNode, what: string, pathMode: boolean): Matcher {
    const s = this.string(n, what);
    try {
      return compileGlob(s, pathMode);
    } catch (e) {
      return this.fail(n, `${what}: ${(e as Error).message}`);
    }
  }
  /** "/regex/flags" is a regex, anything else a glob (args accept both). */
  globOrRegex(n: JsonNode, what: string): Matcher {
    const s = this.string(n, what);
    const m = /^\/(.*)\/([imsu]*)$/s.exec(s);
    if (!m) return this.glob(n, what, false);
    return this.compile(n, what, m[1], m[2], 1);
  }
  uid(n: JsonNode, what: string): number[] {
    const one = (x: JsonNode) => {
      if (x.kind !== "number" || !Number.isInteger(x.value) || x.value < 0 || x.value > 0xffffffff)
        this.fail(
          x,
          `${what} must be a uid (integer 0..4294967295), found ${x.kind === "number" ? x.value : x.kind}`,
        );
      return x.value;
    };
    if (n.kind === "array") {
      if (n.items.length === 0) this.fail(n, `${what} must not be an empty list`);
      return n.items.map(one);
    }
    return [one(n)];
  }
}

/** Matches a parent/ancestor pattern against a process's comm and its executable path. */
function procMatches(re: Matcher, p: ProcessEntry, pathPattern: boolean): boolean {
  if (pathPattern) return [p.exe, p.filename].some((x) => x && re.test(x));
  return [p.comm, basename(p.exe ?? ""), basename(p.filename)].some((x) => x && re.test(x));
}

export function matchRule(
  m: RuleMatch,
  ev: ExecEvent,
  ctx: RuleContext,
  slashIn: { parent: boolean; ancestor: boolean },
): boolean {
  // The kernel's exe, the execve string and, for an absolute one, its normalized form:
  // a rule that alerts cannot be dodged by spelling the path differently.
  const targets = [ev.filename];
  if (ev.exe && ev.exe !== ev.filename) targets.push(ev.exe);
  if (ev.filename.startsWith("/")) {
    const n = normalizePath(ev.filename);
    if (n !== ev.filename) targets.push(n);
  }
  if (m.path && !targets.some((t) => m.path!.test(t))) return false;
  if (m.path_regex && !targets.some((t) => m.path_regex!.test(t))) return false;
  const args = ev.argv.slice(1).join(" ");
  if (m.args && !m.args.test(args)) return false;
  if (m.args_regex && !m.args_regex.test(args)) return false;
  if (m.uid && !m.uid.includes(ev.uid)) return false;
  if (m.comm && !m.comm.test(ev.comm)) return false;
  if (m.parent || m.ancestor) {
    // Bounded: a chain of thousands of processes must not multiply the work per event.
    const anc = ctx.table.ancestry(ev.pid).slice(0, MAX_ANCESTORS);
    if (m.parent && !(anc[0] && procMatches(m.parent, anc[0], slashIn.parent))) return false;
    if (m.ancestor && !anc.some((a) => procMatches(m.ancestor!, a, slashIn.ancestor))) return false;
  }
  return true;
}

/** Parses and validates a rules file's text; `file` is used in error messages. */
export function parseRules(text: string, file: string): Rule[] {
  const root = parseConfigJson(text, file);
  const v = new Validator(file);
  if (root.kind === "array")
    v.fail(
      root,
      'the rules file must be an object with a "rules" array, found an array; wrap it: {"rules": [{"id": "curl-in-tmp", "severity": "high", "match": {"path": "/tmp/**"}}]}',
    );
  const top = v.object(root, "the rules file", ["rules"], ["rules"]);
  const list = top.get("rules")!.value;
  if (list.kind !== "array") return v.fail(list, `"rules" must be an array, found ${list.kind}`);
  const ids = new Set<string>();
  return list.items.map((item, i): Rule => {
    const what = `rule #${i + 1}`;
    const f = v.object(item, what, ["id", "severity", "description", "match"], ["id", "severity", "match"]);
    const idNode = f.get("id")!.value;
    const id = v.string(idNode, `${what} "id"`);
    if (!/^[A-Za-z0-9_.:-]+$/.test(id))
      v.fail(idNode, `${what} "id" may contain only letters, digits and _ . : -`);
    if (ids.has(id)) v.fail(idNode, `duplicate rule id "${id}"`);
    ids.add(id);
    const sevNode = f.get("severity")!.value;
    const sev = v.string(sevNode, `rule "${id}" "severity"`);
    if (!SEVERITIES.includes(sev as Severity))
      v.fail(sevNode, `rule "${id}": severity must be one of ${SEVERITIES.join(", ")}, found "${sev}"`);
    const descNode = f.get("description")?.value;
    const description = descNode ? v.string(descNode, `rule "${id}" "description"`) : `user rule ${id}`;
    const mNode = f.get("match")!.value;
    const mf = v.object(mNode, `rule "${id}" "match"`, MATCH_KEYS);
    if (mf.size === 0) v.fail(mNode, `rule "${id}" "match" has no conditions (it would match every exec)`);
    const m: RuleMatch = {};
    const slashIn = { parent: false, ancestor: false };
    for (const [key, e] of mf) {
      const w = `rule "${id}" match "${key}"`;
      if (key === "path") m.path = v.glob(e.value, w, true);
      else if (key === "path_regex" || key === "args_regex") m[key] = v.regex(e.value, w);
      else if (key === "args") m.args = v.globOrRegex(e.value, w);
      else if (key === "comm") m.comm = v.glob(e.value, w, false);
      else if (key === "uid") m.uid = v.uid(e.value, w);
      else {
        // parent/ancestor: a pattern with '/' is matched against the executable path, else the name.
        const k = key as "parent" | "ancestor";
        slashIn[k] = v.string(e.value, w).includes("/");
        m[k] = v.glob(e.value, w, slashIn[k]);
      }
    }
    const severity = sev as Severity;
    return {
      id,
      severity,
      description,
      check: (ev, ctx) => (matchRule(m, ev, ctx, slashIn) ? `matched user rule ${id}: ${ev.filename}` : null),
    };
  });
}
