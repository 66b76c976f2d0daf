// Glob patterns for rules and allowlists: `*` (any run of characters except '/'),
// `**` (anything, including '/'), `?` (one character except '/'), `[abc]`, `[a-z]`,
// `[!x]`/`[^x]` (POSIX fnmatch(3) with FNM_PATHNAME, plus `**` as in gitignore).
// With pathMode false (argument and comm matching) `*` and `?` also cross '/'.

/** Compiles a glob to an anchored RegExp; throws Error with the offset of a bad class. */
export function globToRegExp(glob: string, pathMode = true): RegExp {
  let re = "";
  const any = pathMode ? "[^/]" : "[\\s\\S]";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") {
      if (glob[i + 1] === "*") {
        // "/**/" also matches a single "/" (zero directories).
        if (glob[i + 2] === "/" && (i === 0 || glob[i - 1] === "/")) {
          re += "(?:[\\s\\S]*/)?";
          i += 2;
        } else {
          re += "[\\s\\S]*";
          i += 1;
        }
      } else re += `${any}*`;
    } else if (c === "?") re += any;
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end === -1) throw new Error(`unclosed '[' at offset ${i} in glob "${glob}"`);
      let body = glob.slice(i + 1, end);
      let neg = "";
      if (body[0] === "!" || body[0] === "^") {
        neg = "^";
        body = body.slice(1);
      }
      const escaped = body.replace(/[\\\]^]/g, (m) => `\\${m}`);
      re += `[${neg}${escaped}]`;
      i = end;
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "u");
}

export function isGlob(s: string): boolean {
  return /[*?[]/.test(s);
}
