// A single-valued option given twice (issue 18 item 8: `--pid 1 --pid 2` traced pid 2
// alone, without a word). Every command's parser refuses the second value, naming both;
// a repeated boolean flag stays harmless.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseCommandArgs } from "../../src/cli/args.ts";
import { isOption, parserSpec } from "../../src/cli/options.ts";
import { COMMANDS } from "../../src/cli/registry.ts";
import { parseTraceArgs } from "../../src/cli/trace-options.ts";
import { UsageError } from "../../src/errors.ts";
import { assertOneLineError, runCli } from "../helpers/cli.ts";

function refused(fn: () => unknown, want: RegExp, label: string): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, UsageError, label);
    assert.match((e as Error).message, want, label);
    return;
  }
  assert.unreachable(`${label}: accepted`);
}

test("trace --pid 1 --pid 2 is refused, naming both; so are -p 1 --pid=2 and --uid twice", () => {
  refused(
    () => parseTraceArgs(["--pid", "1", "--pid", "2"]),
    /--pid given twice \('--pid 1', '--pid 2'\)/,
    "--pid",
  );
  refused(
    () => parseTraceArgs(["-p", "1", "--pid=2"]),
    /--pid given twice \('-p 1', '--pid 2'\)/,
    "-p/--pid",
  );
  refused(() => parseTraceArgs(["--uid", "0", "-u", "0"]), /--uid given twice/, "--uid (same value)");
  refused(
    () => parseTraceArgs(["--ring-size", "8M", "--ring-size", "1G"]),
    /--ring-size given twice/,
    "ring",
  );
});

test("a repeated boolean flag is accepted", () => {
  assert.ok(parseTraceArgs(["--json", "--json", "-q", "-q"]).json);
});

test("every command refuses its every string option given twice", async () => {
  let checked = 0;
  for (const [name, entry] of Object.entries(COMMANDS)) {
    const cmd = await entry.load();
    const spec = cmd.options ? parserSpec(cmd.options) : (cmd.spec ?? {});
    const names = cmd.options
      ? cmd.options
          .filter(isOption)
          .filter((o) => o.type === "string")
          .map((o) => o.name)
      : Object.entries(spec)
          .filter(([, o]) => o.type === "string")
          .map(([n]) => n);
    for (const opt of names) {
      refused(
        () => parseCommandArgs(name, [`--${opt}`, "a", `--${opt}=b`], spec as never),
        new RegExp(`^${name}: --${opt} given twice \\('--${opt} a', '--${opt} b'\\)`),
        `${name} --${opt}`,
      );
      checked++;
    }
  }
  assert.ok(checked > 30, `checked ${checked} options`);
});

test("CLI: one line, exit 2", () => {
  const r = runCli(["trace", "--pid", "1", "--pid", "2", "-d", "1"]);
  assertOneLineError(r, 2, /--pid given twice/, "trace --pid twice");
});

test.run();
