// User regular expressions for rules, in the JavaScript syntax users know, limited to
// what a finite automaton can match in linear time (the RE2 subset): literals, `.`,
// classes and their escapes (\d \w \s \D \W \S), anchors ^ $ \b \B, groups (capturing,
// (?:…) and (?<name>…), all treated alike), alternation, and the quantifiers
// * + ? {n} {n,} {n,m} (greedy or lazy: the same for a yes/no match). Backreferences
// and lookaround cannot be matched without backtracking and are refused with the
// offset where they start, as are Unicode property escapes (\p{…}). Flags: i, m, s, u.
import {
  ANY,
  type AssertKind,
  cat,
  complementRanges,
  DIGIT,
  LINE_TERMINATORS,
  lit,
  type Node,
  normalizeRanges,
  type Ranges,
  SPACE,
  WORD,
} from "./ast.ts";
import { LinearMatcher } from "./nfa.ts";

/** A pattern this engine refuses; `offset` is where in the pattern (0-based). */
export class PatternSyntaxError extends Error {
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {
    super(`${reason} (at offset ${offset})`);
  }
}

/** Largest n in {n} / {n,m}: repetition is expanded into automaton states. */
const MAX_REPEAT = 1000;
/** Nesting depth of groups: the parser recurses per group. */
const MAX_DEPTH = 200;
const SYNTAX = "^$\\.*+?()[]{}|/";

class Parser {
  i = 0;
  depth = 0;
  constructor(
    readonly s: string,
    readonly dotAll: boolean,
  ) {}

  fail(reason: string, at = this.i): never {
    throw new PatternSyntaxError(reason, at);
  }

  parse(): Node {
    const n = this.alternation();
    if (this.i < this.s.length) this.fail(`unmatched ')'`);
    return n;
  }

  alternation(): Node {
    const items = [this.sequence()];
    while (this.s[this.i] === "|") {
      this.i++;
      items.push(this.sequence());
    }
    return items.length === 1 ? items[0] : { t: "alt", items };
  }

  sequence(): Node {
    const items: Node[] = [];
    while (this.i < this.s.length && this.s[this.i] !== "|" && this.s[this.i] !== ")") {
      const at = this.i;
      const atom = this.atom();
      items.push(this.quantified(atom, at));
    }
    return items.length === 0 ? { t: "empty" } : cat(items);
  }

  quantified(atom: Node, at: number): Node {
    let n = atom;
    for (;;) {
      const c = this.s[this.i];
      let min: number;
      let max: number;
      if (c === "*") [min, max] = [0, Number.POSITIVE_INFINITY];
      else if (c === "+") [min, max] = [1, Number.POSITIVE_INFINITY];
      else if (c === "?") [min, max] = [0, 1];
      else if (c === "{") {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(this.s.slice(this.i, this.i + 24));
        if (!m) this.fail("'{' that is not a quantifier {n}, {n,} or {n,m}: escape it as \\{");
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === "" ? Number.POSITIVE_INFINITY : Number(m[3]);
        if (min > MAX_REPEAT || (max !== Number.POSITIVE_INFINITY && max > MAX_REPEAT))
          this.fail(`repetition count over ${MAX_REPEAT}`);
        if (max < min) this.fail("numbers out of order in {n,m}");
        this.i += m[0].length - 1;
      } else return n;
      if (n.t === "assert" || n.t === "empty") this.fail("nothing to repeat", at);
      if (n.t === "rep") this.fail("nothing to repeat (a quantifier follows a quantifier)");
      this.i++;
      if (this.s[this.i] === "?") this.i++; // lazy: same language
      n = { t: "rep", item: n, min, max };
    }
  }

  atom(): Node {
    const s = this.s;
    const c = s[this.i];
    switch (c) {
      case "(":
        return this.group();
      case "[":
        return this.klass();
      case ".":
        this.i++;
        return { t: "set", ranges: this.dotAll ? ANY : complementRanges(LINE_TERMINATORS), negate: false };
      case "^":
        this.i++;
        return { t: "assert", kind: "BOL" };
      case "$":
        this.i++;
        return { t: "assert", kind: "EOL" };
      case "\\":
        return this.escape();
      case "*":
      case "+":
      case "?":
        return this.fail("nothing to repeat");
      case "{":
        return this.fail("'{' that is not a quantifier: escape it as \\{");
      case "}":
      case "]":
        return this.fail(`lone '${c}': escape it as \\${c}`);
      default: {
        const cp = s.codePointAt(this.i) as number;
        this.i += cp > 0xffff ? 2 : 1;
        return lit(cp);
      }
    }
  }

  group(): Node {
    const start = this.i;
    this.i++;
    if (this.s.startsWith("?:", this.i)) this.i += 2;
    else if (/^\?<[A-Za-z_$][\w$]*>/.test(this.s.slice(this.i, this.i + 80)))
      this.i = this.s.indexOf(">", this.i) + 1;
    else if (/^\?(=|!|<=|<!)/.test(this.s.slice(this.i, this.i + 3)))
      this.fail("lookahead/lookbehind cannot be matched in linear time and is not supported", start);
    else if (this.s[this.i] === "?") this.fail("unknown group syntax (?…)", start);
    if (++this.depth > MAX_DEPTH) this.fail(`groups nested deeper than ${MAX_DEPTH}`);
    const n = this.alternation();
    this.depth--;
    if (this.s[this.i] !== ")") this.fail("unterminated group", start);
    this.i++;
    // A group node distinct from a bare repetition, so "(a*)*" is allowed but "a**" is not.
    return n.t === "rep" ? cat([n, { t: "empty" }]) : n;
  }

  /** An escape outside a class. */
  escape(): Node {
    const at = this.i;
    const e = this.s[this.i + 1];
    if (e === undefined) this.fail("pattern ends with '\\'");
    const assert: Record<string, AssertKind> = { b: "WORDB", B: "NWORDB" };
    if (e in assert) {
      this.i += 2;
      return { t: "assert", kind: assert[e] };
    }
    if (/[1-9]/.test(e) || e === "k")
      this.fail("backreferences cannot be matched in linear time and are not supported", at);
    const r = this.classEscape();
    if (r) return { t: "set", ranges: r, negate: false };
    return lit(this.charEscape());
  }

  /** \d \w \s and their negations; advances past them. */
  classEscape(): Ranges | undefined {
    const e = this.s[this.i + 1];
    const sets: Record<string, Ranges> = { d: DIGIT, w: WORD, s: SPACE };
    if (e === "p" || e === "P") this.fail("Unicode property escapes (\\p{…}) are not supported");
    const lower = e.toLowerCase();
    if (!(lower in sets)) return undefined;
    this.i += 2;
    return e === lower ? sets[lower] : complementRanges(sets[lower]);
  }

  /** A single-character escape (\n, \x41, \u{1F600}, \/ …); advances past it. */
  charEscape(inClass = false): number {
    const at = this.i;
    const s = this.s;
    const e = s[this.i + 1];
    this.i += 2;
    const simple: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, v: 11, "0": 0 };
    if (e in simple && !(e === "0" && /\d/.test(s[this.i] ?? ""))) return simple[e];
    if (inClass && e === "b") return 8;
    if (inClass && e === "-") return 0x2d;
    if (e === "c" && /[A-Za-z]/.test(s[this.i] ?? "")) return s.charCodeAt(this.i++) % 32;
    if (e === "x") {
      const h = /^[0-9a-fA-F]{2}/.exec(s.slice(this.i, this.i + 2));
      if (!h) this.fail("\\x needs two hex digits", at);
      this.i += 2;
      return Number.parseInt(h[0], 16);
    }
    if (e === "u") {
      const braced = /^\{([0-9a-fA-F]{1,6})\}/.exec(s.slice(this.i, this.i + 8));
      if (braced) {
        const v = Number.parseInt(braced[1], 16);
        if (v > 0x10ffff) this.fail("\\u{…} above U+10FFFF", at);
        this.i += braced[0].length;
        return v;
      }
      const h = /^[0-9a-fA-F]{4}/.exec(s.slice(this.i, this.i + 4));
      if (!h) this.fail("\\u needs four hex digits or {…}", at);
      this.i += 4;
      return Number.parseInt(h[0], 16);
    }
    if (SYNTAX.includes(e)) return e.charCodeAt(0);
    return this.fail(`unknown escape '\\${e}'`, at);
  }

  klass(): Node {
    const start = this.i;
    this.i++;
    let negate = false;
    if (this.s[this.i] === "^") {
      negate = true;
      this.i++;
    }
    const ranges: Ranges = [];
    const one = (): { cp: number } | { set: Ranges } => {
      if (this.i >= this.s.length) this.fail("unterminated character class", start);
      if (this.s[this.i] === "\\") {
        const r = this.classEscape();
        if (r) return { set: r };
        return { cp: this.charEscape(true) };
      }
      const cp = this.s.codePointAt(this.i) as number;
      this.i += cp > 0xffff ? 2 : 1;
      return { cp };
    };
    while (this.s[this.i] !== "]") {
      const lo = one();
      if ("set" in lo) {
        ranges.push(...lo.set);
        continue;
      }
      if (this.s[this.i] === "-" && this.s[this.i + 1] !== "]" && this.i + 1 < this.s.length) {
        this.i++;
        const hi = one();
        if ("set" in hi) this.fail("a class escape cannot end a range");
        if (hi.cp < lo.cp) this.fail("range out of order in character class");
        ranges.push(lo.cp, hi.cp);
      } else ranges.push(lo.cp, lo.cp);
    }
    this.i++;
    return { t: "set", ranges: normalizeRanges(ranges), negate };
  }
}

/** Flags a rule regex may carry. */
const FLAGS = /^[imsu]*$/;

/** Compiles a user regex (JavaScript syntax, linear-time subset); throws PatternSyntaxError. */
export function compileRegex(source: string, flags = ""): LinearMatcher {
  if (!FLAGS.test(flags))
    throw new PatternSyntaxError(`unsupported flags "${flags}" (allowed: i, m, s, u)`, 0);
  const tree = new Parser(source, flags.includes("s")).parse();
  try {
    return new LinearMatcher(tree, source, {
      ignoreCase: flags.includes("i"),
      multiline: flags.includes("m"),
    });
  } catch (e) {
    throw new PatternSyntaxError((e as Error).message, 0);
  }
}
