// The pattern tree shared by the rule-pattern parsers (regex.ts, glob.ts) and the
// linear-time matcher (nfa.ts). Only constructs that a finite automaton can match
// exist here: no backreferences, no lookaround; a counted repetition is expanded.

/** A set of code points: sorted, non-overlapping inclusive ranges [lo0, hi0, lo1, hi1, …]. */
export type Ranges = number[];

export type Node =
  | { t: "set"; ranges: Ranges; negate: boolean }
  | { t: "cat"; items: Node[] }
  | { t: "alt"; items: Node[] }
  | { t: "rep"; item: Node; min: number; max: number } // max = Infinity for unbounded
  | { t: "assert"; kind: AssertKind }
  | { t: "empty" };

/**
 * Zero-width assertions: BOT/EOT = start/end of the input; BOL/EOL = ^/$ (line
 * boundaries with the m flag); WORDB/NWORDB = \b and \B.
 */
export type AssertKind = "BOT" | "EOT" | "BOL" | "EOL" | "WORDB" | "NWORDB";

export const lit = (cp: number): Node => ({ t: "set", ranges: [cp, cp], negate: false });
export const cat = (items: Node[]): Node => (items.length === 1 ? items[0] : { t: "cat", items });

/** Every code point (a JS string's units and pairs never exceed U+10FFFF). */
export const ANY: Ranges = [0, 0x10ffff];
export const DIGIT: Ranges = [0x30, 0x39];
export const WORD: Ranges = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
/** JavaScript's \s (ECMA-262 WhiteSpace and LineTerminator). */
export const SPACE: Ranges = [
  0x09, 0x0d, 0x20, 0x20, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x202f, 0x205f,
  0x205f, 0x3000, 0x3000, 0xfeff, 0xfeff,
];
/** Line terminators of ECMA-262 (what `.` does not match without the s flag). */
export const LINE_TERMINATORS: Ranges = [0x0a, 0x0a, 0x0d, 0x0d, 0x2028, 0x2029];

export function isWordCp(cp: number): boolean {
  return (
    (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || cp === 0x5f || (cp >= 0x61 && cp <= 0x7a)
  );
}

export function isLineTerminator(cp: number): boolean {
  return cp === 0x0a || cp === 0x0d || cp === 0x2028 || cp === 0x2029;
}

/** Sorts and merges ranges. */
export function normalizeRanges(r: Ranges): Ranges {
  const pairs: [number, number][] = [];
  for (let i = 0; i < r.length; i += 2) pairs.push([r[i], r[i + 1]]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: Ranges = [];
  for (const [lo, hi] of pairs) {
    const n = out.length;
    if (n > 0 && lo <= out[n - 1] + 1) out[n - 1] = Math.max(out[n - 1], hi);
    else out.push(lo, hi);
  }
  return out;
}

/** The complement of normalized ranges within [0, 0x10FFFF]. */
export function complementRanges(r: Ranges): Ranges {
  const out: Ranges = [];
  let next = 0;
  for (let i = 0; i < r.length; i += 2) {
    if (r[i] > next) out.push(next, r[i] - 1);
    next = r[i + 1] + 1;
  }
  if (next <= 0x10ffff) out.push(next, 0x10ffff);
  return out;
}
