import { test } from "uvu";
import * as assert from "uvu/assert";
import { TsbpfError, UsageError } from "../../src/errors.ts";

test("TsbpfError exits 1 and carries its class name", () => {
  const e = new TsbpfError("boom");
  assert.is(e.exitCode, 1);
  assert.is(e.name, "TsbpfError");
});

test("UsageError exits 2", () => {
  const e = new UsageError("bad flag");
  assert.is(e.exitCode, 2);
  assert.ok(e instanceof TsbpfError);
});

test.run();
