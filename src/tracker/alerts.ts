// Rule evaluation hooked to the event stream: each exec is checked against the rules,
// and the alerts it raises follow it in the stream.
import { statSync } from "node:fs";
import { type Allowlist, loadAllowlist, loadRules } from "./allowlist.ts";
import type { AlertEvent, TraceEvent } from "./events.ts";
import type { ProcessTable } from "./process-table.ts";
import { BUILTIN_RULES, evaluate, type Rule, type RuleContext } from "./rules.ts";

/** The rule files a trace adds to the built-in rules (the --rules and --allowlist files). */
export interface RuleSetFiles {
  /** A user rules file (JSON), added to the built-in rules. */
  rulesFile?: string;
  /** An allowlist file: any executable not listed raises an `allowlist` alert. */
  allowlistFile?: string;
  /** Include the built-in rules (default true). */
  builtin?: boolean;
}

/** The built-in rules plus the ones from files; a malformed file throws RulesError. */
export function loadRuleSet(files: RuleSetFiles = {}): Rule[] {
  const rules: Rule[] = files.builtin === false ? [] : [...BUILTIN_RULES];
  if (files.rulesFile !== undefined) rules.push(...loadRules(files.rulesFile));
  if (files.allowlistFile !== undefined) {
    const a: Allowlist = loadAllowlist(files.allowlistFile);
    rules.push(a.rule());
  }
  return rules;
}

/** Evaluates rules on exec events against one process table. */
export class RuleEvaluator {
  private readonly ctx: RuleContext;

  constructor(
    private readonly rules: readonly Rule[],
    table: ProcessTable,
  ) {
    const wwCache = new Map<string, boolean>();
    this.ctx = {
      table,
      isWorldWritableDir: (dir) => {
        let ww = wwCache.get(dir);
        if (ww === undefined) {
          try {
            ww = (statSync(dir).mode & 0o002) !== 0;
          } catch {
            ww = false;
          }
          if (wwCache.size > 4096) wwCache.clear();
          wwCache.set(dir, ww);
        }
        return ww;
      },
    };
  }

  /** The alerts `ev` raises (undefined for no alert or a non-exec event). */
  check(ev: TraceEvent): AlertEvent[] | undefined {
    if (ev.event !== "exec" || this.rules.length === 0) return undefined;
    const a = evaluate(ev, this.ctx, this.rules);
    return a && a.length > 0 ? a : undefined;
  }
}
