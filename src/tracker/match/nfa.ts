// Linear-time matching of rule patterns: a pattern tree (ast.ts) compiled to a
// Thompson NFA, simulated as a lazily built DFA (the approach of RE2 and of
// Russ Cox's "Regular Expression Matching Can Be Simple And Fast"). Each input code
// point costs one table lookup once its DFA state is built, and building one costs
// at most O(program size), so a test is O(input × program size) whatever the pattern:
// there is no backtracking to blow up. The DFA cache is bounded; when full it is
// dropped and rebuilt, as RE2 does.
import {
  type AssertKind,
  isLineTerminator,
  isWordCp,
  type Node,
  normalizeRanges,
  type Ranges,
} from "./ast.ts";

/** The pattern is too large to match within the per-event bound. */
export class PatternTooLargeError extends Error {}

/** Compiled programs are capped so that one DFA step stays cheap. */
export const MAX_PROGRAM = 2000;
/** DFA states kept per matcher before the cache is dropped. */
const MAX_DFA_STATES = 1024;

const OP_SET = 0;
const OP_SPLIT = 1;
const OP_JMP = 2;
const OP_ASSERT = 3;
const OP_MATCH = 4;

// What lies before/after a position, for assertions.
const K_BEGIN = 0; // before the first code point
const K_LINE = 1; // a line terminator
const K_WORD = 2; // [A-Za-z0-9_]
const K_OTHER = 3;
const K_END = 4; // after the last code point

const ASSERTS: Record<AssertKind, number> = { BOT: 0, EOT: 1, BOL: 2, EOL: 3, WORDB: 4, NWORDB: 5 };

interface CodeSet {
  ranges: Ranges;
  negate: boolean;
  ascii: Uint8Array;
}

function inRanges(r: Ranges, cp: number): boolean {
  // Binary search over [lo, hi] pairs.
  let lo = 0;
  let hi = (r.length >> 1) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < r[mid * 2]) hi = mid - 1;
    else if (cp > r[mid * 2 + 1]) lo = mid + 1;
    else return true;
  }
  return false;
}

function setHas(s: CodeSet, cp: number): boolean {
  if (cp < 128) return s.ascii[cp] === 1;
  return inRanges(s.ranges, cp) !== s.negate;
}

/** A compiled program: instruction arrays, built once per pattern. */
class Program {
  op: number[] = [];
  a: number[] = [];
  b: number[] = [];
  sets: (CodeSet | undefined)[] = [];
  constructor(readonly ignoreCase: boolean) {}
  emit(op: number, a = -1, b = -1, set?: CodeSet): number {
    if (this.op.length >= MAX_PROGRAM)
      throw new PatternTooLargeError(
        `pattern too large (over ${MAX_PROGRAM} automaton states; reduce counted repetitions like {n,m})`,
      );
    this.op.push(op);
    this.a.push(a);
    this.b.push(b);
    this.sets.push(set);
    return this.op.length - 1;
  }
}

/** Compiles n so that it continues at `next`; returns its entry pc. Built back to front. */
function compile(p: Program, n: Node, next: number): number {
  switch (n.t) {
    case "empty":
      return next;
    case "set": {
      if (p.ignoreCase) n = { ...n, ranges: caseClosed(n.ranges) };
      const ascii = new Uint8Array(128);
      for (let c = 0; c < 128; c++) ascii[c] = inRanges(n.ranges, c) !== n.negate ? 1 : 0;
      return p.emit(OP_SET, next, -1, { ranges: n.ranges, negate: n.negate, ascii });
    }
    case "assert":
      return p.emit(OP_ASSERT, next, ASSERTS[n.kind]);
    case "cat": {
      let pc = next;
      for (let i = n.items.length - 1; i >= 0; i--) pc = compile(p, n.items[i], pc);
      return pc;
    }
    case "alt": {
      let pc = compile(p, n.items[n.items.length - 1], next);
      for (let i = n.items.length - 2; i >= 0; i--) pc = p.emit(OP_SPLIT, compile(p, n.items[i], next), pc);
      return pc;
    }
    case "rep": {
      let pc = next;
      if (n.max === Number.POSITIVE_INFINITY) {
        // loop: SPLIT(body → loop, next)
        const loop = p.emit(OP_SPLIT, -1, next);
        p.a[loop] = compile(p, n.item, loop);
        pc = loop;
      } else {
        // (x(x(x)?)?)? for the optional copies: states grow linearly with max - min.
        for (let i = n.min; i < n.max; i++) pc = p.emit(OP_SPLIT, compile(p, n.item, pc), next);
      }
      for (let i = 0; i < n.min; i++) pc = compile(p, n.item, pc);
      return pc;
    }
  }
}

/**
 * The ranges plus the lower-case form of each member, so that a lower-cased input
 * code point matches (the i flag). Very large ranges get only their ASCII letters
 * folded: they hold nearly every code point already.
 */
function caseClosed(r: Ranges): Ranges {
  const out = r.slice();
  for (let i = 0; i < r.length; i += 2) {
    const lo = r[i];
    const hi = r[i + 1];
    const ulo = Math.max(lo, 0x41);
    const uhi = Math.min(hi, 0x5a);
    if (ulo <= uhi) out.push(ulo + 32, uhi + 32);
    if (hi - lo > 4096) continue;
    for (let c = Math.max(lo, 0x80); c <= hi; c++) {
      const l = String.fromCodePoint(c).toLowerCase();
      const lc = l.codePointAt(0) as number;
      if (lc !== c && l === String.fromCodePoint(lc)) out.push(lc, lc);
    }
  }
  return normalizeRanges(out);
}

function kindOf(cp: number): number {
  if (isWordCp(cp)) return K_WORD;
  if (isLineTerminator(cp)) return K_LINE;
  return K_OTHER;
}

interface DState {
  /** Pending threads (pcs before the epsilon closure). */
  pcs: Int32Array;
  prev: number;
  /** Transition per ASCII code point: index of the next state, -1 unknown, -2 match. */
  ascii: Int32Array;
  other: Map<number, number>;
  /** Whether the input may end here: -1 unknown, 0 no, 1 yes. */
  end: number;
}

export interface MatcherOptions {
  /** The m flag: ^ and $ also match at line terminators. */
  multiline?: boolean;
  /** Fold case (the i flag): input code points are compared lower-cased. */
  ignoreCase?: boolean;
  /** Match only from the start of the input (globs); otherwise search anywhere. */
  anchoredStart?: boolean;
}

/** A compiled pattern; test() runs in time linear in the input's length. */
export class LinearMatcher {
  private readonly prog: Program;
  private readonly start: number;
  private readonly multiline: boolean;
  private readonly ignoreCase: boolean;
  private readonly anchoredStart: boolean;
  private states: DState[] = [];
  private index = new Map<string, number>();
  // Closure scratch: generation marks per pc and an explicit stack.
  private readonly mark: Uint32Array;
  private gen = 0;
  private readonly stack: Int32Array;
  /** DFA cache resets during the current test(): after one, simulate the NFA directly. */
  private resets = 0;

  constructor(
    tree: Node,
    readonly source: string,
    opts: MatcherOptions = {},
  ) {
    this.prog = new Program(opts.ignoreCase ?? false);
    const match = this.prog.emit(OP_MATCH);
    this.start = compile(this.prog, tree, match);
    this.multiline = opts.multiline ?? false;
    this.ignoreCase = opts.ignoreCase ?? false;
    this.anchoredStart = opts.anchoredStart ?? false;
    this.mark = new Uint32Array(this.prog.op.length);
    this.stack = new Int32Array(this.prog.op.length * 2 + 2);
  }

  /** Number of automaton states (the pattern's size in the O(input × size) bound). */
  get size(): number {
    return this.prog.op.length;
  }

  private assertHolds(kind: number, prev: number, next: number): boolean {
    switch (kind) {
      case 0:
        return prev === K_BEGIN;
      case 1:
        return next === K_END;
      case 2:
        return prev === K_BEGIN || (this.multiline && prev === K_LINE);
      case 3:
        return next === K_END || (this.multiline && next === K_LINE);
      case 4:
        return (prev === K_WORD) !== (next === K_WORD);
      default:
        return (prev === K_WORD) === (next === K_WORD);
    }
  }

  /** Epsilon closure of pcs; pushes SET pcs to `out`; true if MATCH is reachable. */
  private closure(pcs: Int32Array, prev: number, next: number, out: number[]): boolean {
    const { op, a, b } = this.prog;
    const mark = this.mark;
    const stack = this.stack;
    if (++this.gen === 0xffffffff) {
      mark.fill(0);
      this.gen = 1;
    }
    const g = this.gen;
    let sp = 0;
    let matched = false;
    for (let i = pcs.length - 1; i >= 0; i--) stack[sp++] = pcs[i];
    while (sp > 0) {
      const pc = stack[--sp];
      if (mark[pc] === g) continue;
      mark[pc] = g;
      switch (op[pc]) {
        case OP_SET:
          out.push(pc);
          break;
        case OP_MATCH:
          matched = true;
          break;
        case OP_JMP:
          stack[sp++] = a[pc];
          break;
        case OP_SPLIT:
          stack[sp++] = b[pc];
          stack[sp++] = a[pc];
          break;
        case OP_ASSERT:
          if (this.assertHolds(b[pc], prev, next)) stack[sp++] = a[pc];
          break;
      }
    }
    return matched;
  }

  private state(pcs: number[], prev: number): number {
    pcs.sort((x, y) => x - y);
    const key = `${prev}:${pcs.join(",")}`;
    const known = this.index.get(key);
    if (known !== undefined) return known;
    if (this.states.length >= MAX_DFA_STATES) {
      // Bounded memory: forget every state (the caller holds only indexes it re-derives).
      this.states = [];
      this.index.clear();
      this.resets++;
    }
    const id = this.states.length;
    this.states.push({
      pcs: Int32Array.from(pcs),
      prev,
      ascii: new Int32Array(128).fill(-1),
      other: new Map(),
      end: -1,
    });
    this.index.set(key, id);
    return id;
  }

  /** Computes the transition of state `s` on code point cp: next state, or -2 (match). */
  private step(s: DState, cp: number): number {
    const set: number[] = [];
    if (this.closure(s.pcs, s.prev, kindOf(cp), set)) return -2;
    const { a, sets } = this.prog;
    const next: number[] = [];
    for (const pc of set) if (setHas(sets[pc] as CodeSet, cp)) next.push(a[pc]);
    if (!this.anchoredStart) next.push(this.start);
    return this.state(next, kindOf(cp));
  }

  private fold(cp: number): number {
    if (cp < 128) return cp >= 0x41 && cp <= 0x5a ? cp + 32 : cp;
    const lower = String.fromCodePoint(cp).toLowerCase();
    const l = lower.codePointAt(0) as number;
    return lower.length === String.fromCodePoint(l).length ? l : cp;
  }

  /** Reads the code point at i (a surrogate pair as one); its length goes to this.cpLen. */
  private cpLen = 1;
  private codePoint(input: string, i: number): number {
    let cp = input.charCodeAt(i);
    this.cpLen = 1;
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < input.length) {
      const lo = input.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = (cp - 0xd800) * 0x400 + (lo - 0xdc00) + 0x10000;
        this.cpLen = 2;
      }
    }
    return this.ignoreCase ? this.fold(cp) : cp;
  }

  test(input: string): boolean {
    this.resets = 0;
    let cur = this.state([this.start], K_BEGIN);
    const n = input.length;
    for (let i = 0; i < n; i += this.cpLen) {
      const cp = this.codePoint(input, i);
      const s = this.states[cur];
      let nx = cp < 128 ? s.ascii[cp] : (s.other.get(cp) ?? -1);
      if (nx === -1) {
        // (A cache reset inside step() drops `s`; recording on it is then harmless.)
        nx = this.step(s, cp);
        if (cp < 128) s.ascii[cp] = nx;
        else if (s.other.size < 256) s.other.set(cp, nx);
        // The DFA keeps growing past its cache (an exponential pattern on varied
        // input): building states costs more than it saves, so finish as an NFA.
        if (nx !== -2 && this.resets > 0) {
          const t = this.states[nx];
          return this.simulate(input, i + this.cpLen, Array.from(t.pcs), t.prev);
        }
      }
      if (nx === -2) return true;
      const ns = this.states[nx];
      if (this.anchoredStart && ns.pcs.length === 0) return false; // dead: nothing can match
      cur = nx;
    }
    const s = this.states[cur];
    if (s.end === -1) s.end = this.closure(s.pcs, s.prev, K_END, []) ? 1 : 0;
    return s.end === 1;
  }

  /** Thompson simulation from position i with pending threads pcs: O(program size) per step. */
  private simulate(input: string, from: number, pcs: number[], prev: number): boolean {
    const { a, sets } = this.prog;
    let pending = Int32Array.from(pcs);
    const set: number[] = [];
    const n = input.length;
    for (let i = from; i < n; i += this.cpLen) {
      const cp = this.codePoint(input, i);
      const kind = kindOf(cp);
      set.length = 0;
      if (this.closure(pending, prev, kind, set)) return true;
      const next: number[] = [];
      for (const pc of set) if (setHas(sets[pc] as CodeSet, cp)) next.push(a[pc]);
      if (!this.anchoredStart) next.push(this.start);
      else if (next.length === 0) return false;
      pending = Int32Array.from(next);
      prev = kind;
    }
    return this.closure(pending, prev, K_END, []);
  }
}
