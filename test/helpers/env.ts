// Shared test helpers. Privileged tests may skip only when not root *and* CI is unset;
// under CI=true a missing privilege is a failure, never a silent skip.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT_DIR = fileURLToPath(new URL("../..", import.meta.url));
export const isRoot = process.getuid?.() === 0;
export const inCI = process.env.CI === "true" || process.env.CI === "1";

/** True when privileged tests should run; throws under CI when they cannot. */
export function privileged(what: string): boolean {
  if (isRoot) return true;
  if (inCI) throw new Error(`${what}: needs root, and CI=true forbids skipping`);
  console.log(`  (skipping ${what}: not root)`);
  return false;
}

/** True when an external oracle tool is on PATH; under CI its absence is a failure. */
export function haveTool(cmd: string): boolean {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" });
  if (r.status === 0) return true;
  if (inCI) throw new Error(`${cmd} is not installed, and CI=true forbids skipping`);
  console.log(`  (skipping: ${cmd} not installed)`);
  return false;
}
