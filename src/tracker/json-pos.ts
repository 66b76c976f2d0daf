// A small JSON parser (RFC 8259) that keeps the line:column of every value and key,
// so that both syntax errors and schema errors in user-written rule files can point
// at the exact spot. JSON.parse reports only a character offset for syntax errors
// and nothing at all for a value that parses but is wrong.
import { TsbpfError } from "../errors.ts";

export interface Pos {
  line: number;
  column: number;
}

export type JsonNode =
  | ({ kind: "object"; entries: JsonEntry[] } & Pos)
  | ({ kind: "array"; items: JsonNode[] } & Pos)
  | ({ kind: "string"; value: string } & Pos)
  | ({ kind: "number"; value: number } & Pos)
  | ({ kind: "boolean"; value: boolean } & Pos)
  | ({ kind: "null" } & Pos);

export interface JsonEntry {
  key: string;
  keyPos: Pos;
  value: JsonNode;
}

/** Syntax error at line:column (1-based; column counts UTF-16 units). */
export class JsonSyntaxError extends TsbpfError {
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${line}:${column}: ${reason}`);
  }
}

const ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

/** Nesting the parser accepts: it recurses per level, and no rules file needs more. */
const MAX_NESTING = 256;

class Parser {
  private i = 0;
  private depth = 0;
  private line = 1;
  private lineStart = 0;
  constructor(private readonly s: string) {}

  pos(): Pos {
    return { line: this.line, column: this.i - this.lineStart + 1 };
  }

  fail(reason: string, at: Pos = this.pos()): never {
    throw new JsonSyntaxError(reason, at.line, at.column);
  }

  ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s[this.i];
      if (c === "\n") {
        this.i++;
        this.line++;
        this.lineStart = this.i;
      } else if (c === " " || c === "\t" || c === "\r") this.i++;
      else break;
    }
  }

  describe(): string {
    if (this.i >= this.s.length) return "end of input";
    return `'${this.s[this.i]}'`;
  }

  value(): JsonNode {
    this.ws();
    const at = this.pos();
    const c = this.s[this.i];
    if (c === "{") return this.object(at);
    if (c === "[") return this.array(at);
    if (c === '"') return { kind: "string", value: this.string(), ...at };
    if (c === "-" || (c >= "0" && c <= "9")) return this.number(at);
    for (const [word, node] of [
      ["true", { kind: "boolean", value: true }],
      ["false", { kind: "boolean", value: false }],
      ["null", { kind: "null" }],
    ] as const) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return { ...node, ...at } as JsonNode;
      }
    }
    return this.fail(`expected a value, found ${this.describe()}`);
  }

  nest(): void {
    if (++this.depth > MAX_NESTING) this.fail(`nested deeper than ${MAX_NESTING} levels`);
  }

  object(at: Pos): JsonNode {
    this.nest();
    this.i++;
    const entries: JsonEntry[] = [];
    const seen = new Set<string>();
    this.ws();
    if (this.s[this.i] === "}") {
      this.i++;
      this.depth--;
      return { kind: "object", entries, ...at };
    }
    for (;;) {
      this.ws();
      const keyPos = this.pos();
      if (this.s[this.i] !== '"') this.fail(`expected a quoted key, found ${this.describe()}`);
      const key = this.string();
      if (seen.has(key)) this.fail(`duplicate key "${key}"`, keyPos);
      seen.add(key);
      this.ws();
      if (this.s[this.i] !== ":") this.fail(`expected ':' after key "${key}", found ${this.describe()}`);
      this.i++;
      entries.push({ key, keyPos, value: this.value() });
      this.ws();
      const c = this.s[this.i];
      this.i++;
      if (c === "}") {
        this.depth--;
        return { kind: "object", entries, ...at };
      }
      if (c !== ",") {
        this.i--;
        this.fail(`expected ',' or '}' in object, found ${this.describe()}`);
      }
    }
  }

  array(at: Pos): JsonNode {
    this.nest();
    this.i++;
    const items: JsonNode[] = [];
    this.ws();
    if (this.s[this.i] === "]") {
      this.i++;
      this.depth--;
      return { kind: "array", items, ...at };
    }
    for (;;) {
      items.push(this.value());
      this.ws();
      const c = this.s[this.i];
      this.i++;
      if (c === "]") {
        this.depth--;
        return { kind: "array", items, ...at };
      }
      if (c !== ",") {
        this.i--;
        this.fail(`expected ',' or ']' in array, found ${this.describe()}`);
      }
    }
  }

  string(): string {
    this.i++; // opening quote
    let out = "";
    for (;;) {
      if (this.i >= this.s.length) this.fail("unterminated string");
      const c = this.s[this.i];
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c === "\\") {
        const e = this.s[this.i + 1];
        if (e === "u") {
          const hex = this.s.slice(this.i + 2, this.i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("bad \\u escape: expected 4 hex digits");
          out += String.fromCharCode(Number.parseInt(hex, 16));
          this.i += 6;
        } else if (e !== undefined && e in ESCAPES) {
          out += ESCAPES[e];
          this.i += 2;
        } else this.fail(`bad escape '\\${e ?? ""}' in string`);
        continue;
      }
      if (c < " ") this.fail("control character in string (escape it, e.g. \\n)");
      out += c;
      this.i++;
    }
  }

  number(at: Pos): JsonNode {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.s.slice(this.i, this.i + 400));
    if (!m) this.fail("bad number");
    this.i += m[0].length;
    return { kind: "number", value: Number(m[0]), ...at };
  }

  document(): JsonNode {
    if (this.s.charCodeAt(0) === 0xfeff) this.i = 1; // tolerate a UTF-8 BOM
    const v = this.value();
    this.ws();
    if (this.i < this.s.length) this.fail(`unexpected ${this.describe()} after the JSON value`);
    return v;
  }
}

/** Parses JSON text into a position-annotated tree; throws JsonSyntaxError. */
export function parseJsonWithPositions(text: string): JsonNode {
  return new Parser(text).document();
}

/** Plain JS value of a node (positions dropped). */
export function toPlain(n: JsonNode): unknown {
  switch (n.kind) {
    case "object":
      return Object.fromEntries(n.entries.map((e) => [e.key, toPlain(e.value)]));
    case "array":
      return n.items.map(toPlain);
    case "null":
      return null;
    default:
      return n.value;
  }
}
