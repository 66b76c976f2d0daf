// Durations on the command line: "2" (seconds, the old form), "1.5s", "500ms", "2m",
// "1h" — as timeout(1) and systemd accept them.
import { UsageError } from "../errors.ts";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, "": 1000, m: 60_000, min: 60_000, h: 3_600_000 };

/** Milliseconds, > 0; anything else is a UsageError naming the command and flag. */
export function parseDuration(command: string, flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|min|h)?$/.exec(v.trim());
  const ms = m ? Number(m[1]) * (UNIT_MS[m[2] ?? ""] as number) : Number.NaN;
  if (!(ms > 0))
    throw new UsageError(
      `${command}: ${flag} expects a duration > 0: seconds, or a number with ms, s, m or h (e.g. 500ms, 1s, 2m), got '${v}'`,
    );
  return ms;
}
