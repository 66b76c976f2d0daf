// Environment capture (--env) sees every user's secrets: /proc/PID/environ is 0400 for
// a reason. Values of secret-looking keys are replaced before an event leaves the
// tracer, as Tetragon's redaction filters do; the key stays, so the event still says
// that the variable was set.
import { compileGlob, type Matcher } from "./glob.ts";

/** Key globs whose values are redacted by default (matched case-insensitively). */
export const DEFAULT_REDACT = [
  "*SECRET*",
  "*TOKEN*",
  "*PASSWORD*",
  "*PASSWD*",
  "*PASSPHRASE*",
  "*_PASS",
  "*_KEY",
  "*APIKEY*",
  "*API_KEY*",
  "*PRIVATE*",
  "*CREDENTIAL*",
  "*SESSION*",
  "*COOKIE*",
  "*AUTH*",
  "*_PWD",
] as const;

export const REDACTED = "***";

export interface EnvRedactionOptions {
  /** More key globs to redact (added to DEFAULT_REDACT). */
  redact?: readonly string[];
  /** Key globs never redacted (win over redact): ["*"] turns redaction off. */
  keep?: readonly string[];
}

/** Redacts values of secret-looking keys in `KEY=value` strings. */
export class EnvRedactor {
  private readonly redact: Matcher[];
  private readonly keep: Matcher[];
  constructor(opts: EnvRedactionOptions = {}) {
    const m = (g: string) => compileGlob(g.toUpperCase(), false);
    this.redact = [...DEFAULT_REDACT, ...(opts.redact ?? [])].map(m);
    this.keep = (opts.keep ?? []).map(m);
  }

  secret(key: string): boolean {
    const k = key.toUpperCase();
    return !this.keep.some((g) => g.test(k)) && this.redact.some((g) => g.test(k));
  }

  /** Rewrites env in place; returns it. */
  apply(env: string[]): string[] {
    for (let i = 0; i < env.length; i++) {
      const s = env[i];
      const eq = s.indexOf("=");
      if (eq > 0 && this.secret(s.slice(0, eq))) env[i] = `${s.slice(0, eq + 1)}${REDACTED}`;
    }
    return env;
  }
}
