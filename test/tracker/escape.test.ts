import { test } from "uvu";
import * as assert from "uvu/assert";
import { escapeJsonLine, escapeTerminal, formatArgv, quoteArg } from "../../src/tracker/escape.ts";

test("escapeTerminal neutralises escape sequences and control characters", () => {
  assert.is(escapeTerminal("\x1b[2J\x1b]0;pwned\x07"), "\\x1b[2J\\x1b]0;pwned\\x07");
  assert.is(escapeTerminal("a\nb\tc\rd"), "a\\nb\\tc\\x0dd");
  assert.is(escapeTerminal("del\x7f"), "del\\x7f");
  assert.is(escapeTerminal("back\\slash"), "back\\\\slash");
});

test("escapeTerminal: C1 controls, bidi and zero-width characters become visible", () => {
  assert.is(escapeTerminal("x\u009by"), "x\\u{9b}y"); // C1 CSI
  assert.is(escapeTerminal("\u0085"), "\\u{85}");
  assert.is(escapeTerminal("abc\u202edcba"), "abc\\u{202e}dcba");
  assert.is(escapeTerminal("\u2066x\u2069"), "\\u{2066}x\\u{2069}");
  assert.is(escapeTerminal("a\u200bb\ufeff"), "a\\u{200b}b\\u{feff}");
  assert.is(escapeTerminal("l\u2028p"), "l\\u{2028}p");
});

test("escapeTerminal: surrogateescape bytes show as \\xNN, printable text unchanged", () => {
  assert.is(escapeTerminal("a\udcffb\udc80"), "a\\xffb\\x80");
  assert.is(escapeTerminal("héllo 日本 🙂"), "héllo 日本 🙂");
  assert.is(escapeTerminal("/usr/bin/ls"), "/usr/bin/ls");
});

test("quoteArg keeps argument boundaries visible", () => {
  assert.is(quoteArg("ls"), "ls");
  assert.is(quoteArg("--color=auto"), "--color=auto");
  assert.is(quoteArg("a b"), "'a b'");
  assert.is(quoteArg(""), "''");
  assert.is(quoteArg("it's"), "'it'\\''s'");
  assert.is(quoteArg("a;b"), "'a;b'");
  assert.is(quoteArg("x\ny"), "'x\\ny'");
  assert.is(formatArgv(["sh", "-c", "echo hi"]), "sh -c 'echo hi'");
});

test("escapeJsonLine: valid JSON, same value, nothing raw that a terminal interprets", () => {
  const obj = {
    a: "\x1b[31m",
    b: "\u0085\u009b",
    c: "\u2028\u2029",
    d: "\u202e\u2066",
    e: "\udcff",
    f: "é",
    g: 3n,
  };
  const line = escapeJsonLine(obj);
  assert.not.match(line, /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]/);
  assert.ok(
    line.includes("\\u0085") &&
      line.includes("\\u2028") &&
      line.includes("\\u202e") &&
      line.includes("\\udcff"),
  );
  assert.equal(JSON.parse(line), { ...obj, g: 3 });
  assert.ok(line.includes("é"));
});

test.run();
