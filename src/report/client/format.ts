// Text helpers for the page. Everything a traced process controls (argv, env, comm,
// paths) reaches the DOM through textContent only, after visible(): HTML cannot be
// injected that way, and visible() also stops invisible or reordering characters
// (bidi overrides, zero-width, controls) from disguising what ran.
import { escapeTerminal, formatArgv } from "../../tracker/escape.ts";

/**
 * The tracer's own rule for showing attacker-chosen text (src/tracker/escape.ts): controls,
 * C1 codes, bidi/zero-width/format characters and separators as escapes, surrogateescape
 * bytes as \xNN, backslash doubled so an escape cannot be faked.
 */
export const visible = escapeTerminal;

/** A whole argv on one line, each argument escaped and quoted when needed: `sh -c 'a b'`. */
export const argvLine = formatArgv;

/** µs → "850 µs", "12.3 ms", "4.56 s", "3 min 2 s". */
export function fmtDur(us: number): string {
  const a = Math.abs(us);
  if (a < 1000) return `${Math.round(us)} µs`;
  if (a < 1e6) return `${(us / 1000).toFixed(a < 1e4 ? 2 : 1)} ms`;
  if (a < 60e6) return `${(us / 1e6).toFixed(a < 1e7 ? 3 : 2)} s`;
  const m = Math.floor(us / 60e6);
  return `${m} min ${Math.round((us - m * 60e6) / 1e6)} s`;
}

/** Tick step for the axis: 1, 2 or 5 × 10^k µs, about `px` pixels apart. */
export function tickStep(usPerPx: number, px = 90): number {
  const raw = usPerPx * px;
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-3)));
  for (const m of [1, 2, 5, 10]) if (p * m >= raw) return p * m;
  return p * 10;
}

/** Axis label for a time since the start, precise enough for the tick step. */
export function fmtTick(us: number, step: number): string {
  if (step < 1000) return `${(us / 1000).toFixed(step < 10 ? 3 : step < 100 ? 2 : 1)} ms`;
  if (step < 1e6) return `${(us / 1000).toFixed(step < 1e4 ? 0 : 0)} ms`;
  return `${(us / 1e6).toFixed(step < 1e7 ? 1 : 0)} s`;
}

export function basename(path: string): string {
  const i = path.lastIndexOf("/");
  return i === -1 ? path : path.slice(i + 1);
}
