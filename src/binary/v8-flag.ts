// A V8 flag the single binary sets at run time, for the tracer: once per process (V8's
// flags are process-wide), never while Node builds the start-up snapshot (a flag that
// differs from the build's would make the binary reject its own snapshot: V8 checks a
// hash of the flags when it deserializes one), and with an environment variable that
// leaves V8 as it is, for measuring the setting itself.
import { setFlagsFromString, startupSnapshot } from "node:v8";

/**
 * Returns the function that applies `flag`: true once applied (now or before), false
 * while building the snapshot or when `env[optOut]` is "1".
 */
export function runtimeV8Flag(flag: string, optOut: string): (env?: NodeJS.ProcessEnv) => boolean {
  let applied = false;
  return (env = process.env) => {
    if (applied) return true;
    if (startupSnapshot.isBuildingSnapshot()) return false;
    if (env[optOut] === "1") return false;
    setFlagsFromString(flag);
    applied = true;
    return true;
  };
}
