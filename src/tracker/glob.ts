// Glob patterns for rules and allowlists, compiled to the linear-time matcher
// (match/nfa.ts): a traced process controls the strings they run against, so no
// pattern may take more than O(input × pattern) time.
//
// Semantics (docs/rules.md, "Globs"):
// - path mode (paths: `path`, the allowlist, `parent`/`ancestor` with a '/'): `*` is
//   any run of characters except '/', `?` one character except '/', `[abc]`, `[a-z]`,
//   `[!x]`/`[^x]` one character of (or not of) the class, never '/', and `**` anything
//   including '/' ("/**/" also matches a single "/"), as fnmatch(3) with FNM_PATHNAME plus
//   gitignore's `**`. A pattern that does not start with '/' matches at any directory
//   depth: `*/curl` and `curl` both match /usr/bin/curl (as a gitignore line does).
// - text mode (`args`, `comm`): `*` and `?` also cross '/'.
// The whole string must match.
import { ANY, cat, lit, type Node, normalizeRanges, type Ranges } from "./match/ast.ts";
import { LinearMatcher } from "./match/nfa.ts";

/** What compiled patterns offer (a RegExp has the same shape). */
export interface Matcher {
  test(s: string): boolean;
}

const SLASH = 0x2f;
const NOT_SLASH: Ranges = [0, SLASH - 1, SLASH + 1, 0x10ffff];
const anyRun = (r: Ranges): Node => ({
  t: "rep",
  item: { t: "set", ranges: r, negate: false },
  min: 0,
  max: Infinity,
});

function withoutSlash(r: Ranges): Ranges {
  const out: Ranges = [];
  for (let i = 0; i < r.length; i += 2) {
    if (r[i] <= SLASH && SLASH <= r[i + 1]) {
      if (r[i] < SLASH) out.push(r[i], SLASH - 1);
      if (SLASH < r[i + 1]) out.push(SLASH + 1, r[i + 1]);
    } else out.push(r[i], r[i + 1]);
  }
  return out;
}

/** Compiles a glob; throws Error naming the offset of a bad class. */
export function compileGlob(glob: string, pathMode = true): LinearMatcher {
  const one = pathMode ? NOT_SLASH : ANY;
  const items: Node[] = [{ t: "assert", kind: "BOT" }];
  // Not starting at the root: match at any depth (after any "…/" prefix).
  if (pathMode && !glob.startsWith("/") && !glob.startsWith("**"))
    items.push({ t: "rep", item: cat([anyRun(ANY), lit(SLASH)]), min: 0, max: 1 });
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") {
      if (glob[i + 1] === "*") {
        if (glob[i + 2] === "/" && (i === 0 || glob[i - 1] === "/")) {
          // "**/": zero or more directories.
          items.push({ t: "rep", item: cat([anyRun(ANY), lit(SLASH)]), min: 0, max: 1 });
          i += 2;
        } else {
          items.push(anyRun(ANY));
          i += 1;
        }
      } else items.push(anyRun(one));
    } else if (c === "?") items.push({ t: "set", ranges: one, negate: false });
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end === -1) throw new Error(`unclosed '[' at offset ${i} in glob "${glob}"`);
      let body = [...glob.slice(i + 1, end)];
      let negate = false;
      if (body[0] === "!" || body[0] === "^") {
        negate = true;
        body = body.slice(1);
      }
      const ranges: Ranges = [];
      for (let k = 0; k < body.length; k++) {
        const lo = body[k].codePointAt(0) as number;
        if (body[k + 1] === "-" && k + 2 < body.length) {
          const hi = body[k + 2].codePointAt(0) as number;
          if (hi < lo) throw new Error(`range out of order at offset ${i} in glob "${glob}"`);
          ranges.push(lo, hi);
          k += 2;
        } else ranges.push(lo, lo);
      }
      let set = normalizeRanges(ranges);
      // A class never matches '/' in path mode (FNM_PATHNAME).
      if (pathMode) set = negate ? normalizeRanges([...set, SLASH, SLASH]) : withoutSlash(set);
      items.push({ t: "set", ranges: set, negate });
      i = end;
    } else {
      const cp = glob.codePointAt(i) as number;
      if (cp > 0xffff) i++;
      items.push(lit(cp));
    }
  }
  items.push({ t: "assert", kind: "EOT" });
  return new LinearMatcher(cat(items), glob, { anchoredStart: true });
}

export function isGlob(s: string): boolean {
  return /[*?[]/.test(s);
}
