// The page script is committed as a generated string module (src/report/client-bundle.ts)
// so that reports need no bundler at run time. It must match its sources, and the
// sources (DOM code, outside the root tsconfig) must type-check.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ROOT_DIR } from "../helpers/env.ts";

test("client-bundle.ts is what scripts/build-report-client.mjs makes of src/report/client", async () => {
  const { bundleClient } = await import(join(ROOT_DIR, "scripts/build-report-client.mjs"));
  const fresh = await bundleClient();
  const committed = readFileSync(join(ROOT_DIR, "src/report/client-bundle.ts"), "utf8");
  assert.ok(fresh === committed, "src/report/client-bundle.ts is stale: run npm run build:report");
});

test("the page's script type-checks against the DOM library", () => {
  const r = spawnSync(
    process.execPath,
    [join(ROOT_DIR, "node_modules/typescript/bin/tsc"), "-p", "src/report/client"],
    {
      cwd: ROOT_DIR,
      encoding: "utf8",
    },
  );
  assert.is(r.status, 0, r.stdout + r.stderr);
});

test.run();
