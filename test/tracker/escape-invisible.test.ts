// Issue 18 item 8: NDJSON left the Unicode tag characters (U+E0000 block, general
// category Cf) raw although docs/events.md promises that invisible format characters
// are escaped. The class, fuzzed over the whole code space for both outputs: no code
// point of the documented rule (DEL, C0/C1 controls, Cf, Zl, Zp,
// Default_Ignorable_Code_Point) reaches the output raw, and the JSON value (and the
// byte writer's output) stay exactly the input.
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { escapeJsonLine, escapeTerminal, formatArgv } from "../../src/tracker/escape.ts";

/** The documented rule, written independently of escape.ts. */
const UNSAFE = /[\x00-\x1f\x7f-\x9f\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/u;

/** Code points from the rule's blocks and anything else, astral included. */
const cp = fc.oneof(
  fc.integer({ min: 0xe0000, max: 0xe0fff }), // tags, variation selectors supplement
  fc.constantFrom(0x115f, 0x1160, 0x3164, 0xffa0, 0x034f, 0x180b, 0x180e, 0xfe0f, 0x061c, 0x0600, 0x06dd),
  fc.integer({ min: 0x1bca0, max: 0x1bca3 }),
  fc.integer({ min: 0x1d173, max: 0x1d17a }),
  fc.integer({ min: 0x13430, max: 0x1343f }),
  fc.integer({ min: 0x2000, max: 0x206f }),
  fc.integer({ min: 0, max: 0xff }),
  fc.integer({ min: 0, max: 0x10ffff }).filter((c) => c < 0xd800 || c > 0xdfff),
);
const hostile = fc.array(cp, { maxLength: 12 }).map((cps) => String.fromCodePoint(...cps));

test("the examples: tag characters, Hangul filler, variation selector in JSON and text", () => {
  const s = "a\u{E0001}\u{E0041}b\u3164c\uFE0Fd";
  const line = escapeJsonLine({ s });
  assert.is(line, '{"s":"a\\udb40\\udc01\\udb40\\udc41b\\u3164c\\ufe0fd"}');
  assert.is(JSON.parse(line).s, s);
  assert.is(escapeTerminal(s), "a\\u{e0001}\\u{e0041}b\\u{3164}c\\u{fe0f}d");
});

test("fuzz: no code point of the documented rule reaches NDJSON raw; the value is unchanged", () => {
  fc.assert(
    fc.property(hostile, (s) => {
      const line = escapeJsonLine({ s, argv: [s, "x"] });
      assert.not.match(line, UNSAFE, JSON.stringify(line));
      const back = JSON.parse(line);
      assert.is(back.s, s);
      assert.equal(back.argv, [s, "x"]);
    }),
    { numRuns: 5000 },
  );
});

test("fuzz: no code point of the documented rule reaches the terminal raw", () => {
  fc.assert(
    fc.property(hostile, (s) => {
      assert.not.match(escapeTerminal(s), UNSAFE);
      assert.not.match(formatArgv([s, s]), UNSAFE);
    }),
    { numRuns: 5000 },
  );
});

test.run();
