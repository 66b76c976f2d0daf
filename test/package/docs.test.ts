// The API reference (TypeDoc over the package's entry points, typedoc.json): every
// exported class, function, interface, type and constant has a doc comment, and every
// {@link} resolves. typedoc.json treats its warnings as errors, so an undocumented
// export fails here (and `npm run docs` writes the HTML to dist/docs).
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ROOT_DIR } from "../helpers/env.ts";

test("typedoc: every export of the public entry points is documented", () => {
  const typedoc = join(ROOT_DIR, "node_modules", "typedoc", "bin", "typedoc");
  const r = spawnSync(process.execPath, [typedoc, "--emit", "none"], {
    cwd: ROOT_DIR,
    encoding: "utf8",
    timeout: 10 * 60 * 1000,
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
  });
  const out = `${r.stdout}${r.stderr}`;
  assert.is(r.status, 0, `typedoc failed:\n${out}`);
  assert.not.match(out, /warning/i, out);
});

test.run();
