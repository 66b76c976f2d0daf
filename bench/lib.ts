// Shared benchmark helpers: timing, medians, and appending results to bench/RESULTS.md
// with the date and the exact command, as every bench:<name> script must.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const RESULTS_PATH = fileURLToPath(new URL("./RESULTS.md", import.meta.url));

/** /proc/loadavg's 1, 5 and 15 minute figures. */
export function loadAverage(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

// On 2 shared cores figures taken under a load above ~3 are noise: every section says
// what the load was when its bench started and ended.
const LOAD_AT_START = loadAverage();

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The value after `--name` on the command line, or `def` when the flag is absent. */
export function argValue(name: string, def: string): string;
export function argValue(name: string): string | undefined;
export function argValue(name: string, def?: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? def) : def;
}

/** Wall-clock milliseconds of fn, using the monotonic high-resolution clock. */
export function timeMs(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export async function timeMsAsync(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/**
 * The command that ran a bench as a user types it: `npm run bench:NAME`, plus
 * ` -- ARGS` when it was given arguments (e.g. `--baseline PATH`).
 */
export function commandLine(script: string): string {
  const args = process.argv.slice(2);
  return `npm run ${script}${args.length ? ` -- ${args.join(" ")}` : ""}`;
}

/**
 * Appends one section to bench/RESULTS.md: a heading with the date, the command that
 * produced it, and a Markdown body (usually a table).
 */
export function appendResult(title: string, command: string, body: string): void {
  if (!existsSync(RESULTS_PATH)) {
    writeFileSync(
      RESULTS_PATH,
      "# Benchmark results\n\nEach section was appended by the command it names; newest last.\n",
    );
  }
  const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  appendFileSync(
    RESULTS_PATH,
    `\n## ${title} — ${date}\n\nCommand: \`${command}\`\n\nLoad average (1/5/15 min): ${LOAD_AT_START} at the start, ${loadAverage()} at the end.\n\n${body.trim()}\n`,
  );
}

/** Formats a Markdown table from a header row and data rows. */
export function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}
