// Terminal- and file-safe rendering of strings a traced process controls. argv, env,
// comm and paths are attacker-chosen: printed raw they can move the cursor, rewrite
// earlier lines (ESC sequences, CR), hide text (bidi overrides, "Trojan Source",
// CVE-2021-42574) or forge extra log lines (\n, U+2028). Everything goes through
// escapeTerminal() before a terminal and escapeJsonLine() before an NDJSON file.

const HEX = (n: number, w = 2) => n.toString(16).padStart(w, "0");

/**
 * Code points that are invisible or reorder text, the rule docs/events.md states for
 * both outputs: general category Cf (format: bidi controls, zero-width characters,
 * U+FEFF, the tag characters U+E0000..U+E007F, ...), Zl and Zp (line and paragraph
 * separators), and Default_Ignorable_Code_Point (what a renderer draws as nothing:
 * variation selectors, Hangul fillers, the combining grapheme joiner, ...). Property
 * classes, not a list of ranges: a list missed the astral tag block.
 */
const INVISIBLE_CLASS = "\\p{Cf}\\p{Zl}\\p{Zp}\\p{Default_Ignorable_Code_Point}";
const INVISIBLE = new RegExp(`[${INVISIBLE_CLASS}]`, "u");

/**
 * Makes s safe to print: C0 controls → \xNN (\n and \t as `\n`/`\t`), DEL → \x7f,
 * surrogateescape bytes (U+DC80..U+DCFF) → \xNN (the original byte), C1 controls,
 * other lone surrogates, bidi/zero-width/format characters and line/paragraph
 * separators → \u{NN}, backslash → `\\`. Printable text (any script) is unchanged.
 * C1 controls use \u{..} rather than \x.. so they stay distinct from invalid bytes.
 */
export function escapeTerminal(s: string): string {
  // Fast path: nothing to escape (the common case for argv).
  if (!/[\x00-\x1f\x7f-\x9f\\\ud800-\udfff]/.test(s) && !INVISIBLE.test(s)) return s;
  let out = "";
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0x5c) out += "\\\\";
    else if (cp === 0x0a) out += "\\n";
    else if (cp === 0x09) out += "\\t";
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${HEX(cp)}`;
    else if (cp >= 0xdc80 && cp <= 0xdcff) out += `\\x${HEX(cp - 0xdc00)}`;
    else if ((cp >= 0x80 && cp <= 0x9f) || (cp >= 0xd800 && cp <= 0xdfff) || INVISIBLE.test(ch))
      out += `\\u{${HEX(cp)}}`;
    else out += ch;
  }
  return out;
}

const SAFE_WORD = /^[\p{L}\p{N}\p{M}_@%+=:,./~^-]+$/u;

/**
 * One argv element for display: escaped, and single-quoted (shell style, ' as '\'')
 * when it is empty or contains spaces, quotes, shell metacharacters or escapes, so
 * argument boundaries stay visible: ["a b", "c"] shows as `'a b' c`.
 */
export function quoteArg(s: string): string {
  const e = escapeTerminal(s);
  if (e !== "" && e === s && SAFE_WORD.test(s)) return s;
  return `'${e.replaceAll("'", "'\\''")}'`;
}

/** A whole argv for display: quoteArg on each element, joined by spaces. */
export function formatArgv(argv: readonly string[]): string {
  return argv.map(quoteArg).join(" ");
}

// JSON.stringify already escapes C0, '"', '\\' and lone surrogates (ES2019 well-formed
// JSON.stringify). These are the remaining code points that are valid raw in JSON but
// unsafe when the file is `cat`ted: DEL, C1 controls and INVISIBLE (above). They can
// only occur inside JSON strings, so replacing them with \uXXXX (a surrogate pair for
// an astral one, as JSON spells it) keeps the line valid JSON with the same value.
const JSON_UNSAFE = new RegExp(`[\\x7f-\\x9f${INVISIBLE_CLASS}]`, "gu");

/** \uXXXX for each UTF-16 unit of c. */
function jsonEscapeUnits(c: string): string {
  let out = "";
  for (let i = 0; i < c.length; i++) out += `\\u${HEX(c.charCodeAt(i), 4)}`;
  return out;
}

function bigintToJson(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v;
}

/** The same set, non-global: one scan that says whether any replacing is needed. */
const JSON_UNSAFE_ANY = new RegExp(JSON_UNSAFE.source, "u");

/**
 * One NDJSON line (no trailing newline) that is safe to print on a terminal.
 * The tracer's hot path: JSON.stringify with a replacer calls it for every key, so the
 * plain call is tried first (tracer events hold no bigint) and the replacer is used
 * only when that throws on a bigint; the escaping pass runs only when the line
 * actually contains an unsafe character (argv is almost always plain text).
 */
export function escapeJsonLine(obj: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(obj);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    s = JSON.stringify(obj, bigintToJson);
  }
  if (!JSON_UNSAFE_ANY.test(s)) return s;
  return s.replace(JSON_UNSAFE, jsonEscapeUnits);
}
