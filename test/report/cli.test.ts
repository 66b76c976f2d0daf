// `tsbpf report` from the command line: outputs written, bad input named in one line.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { assertOneLineError, runCli } from "../helpers/cli.ts";
import { makeLike } from "./events.ts";

const tmp = mkdtempSync(join(tmpdir(), "tsbpf-report-cli-"));
const nd = join(tmp, "t.ndjson");
writeFileSync(
  nd,
  `${makeLike()
    .events.map((e) => JSON.stringify(e))
    .join("\n")}\n`,
);

test("report writes the page and the Perfetto JSON", () => {
  const r = runCli(["report", nd, "-o", join(tmp, "t.html"), "--perfetto", join(tmp, "t.json")]);
  assert.is(r.status, 0, r.stderr);
  const html = readFileSync(join(tmp, "t.html"), "utf8");
  assert.match(html, /^<!doctype html>/);
  assert.not.match(html, /<script[^>]+src=|<link[^>]+href=|https?:\/\//, "nothing loaded from elsewhere");
  assert.ok(JSON.parse(readFileSync(join(tmp, "t.json"), "utf8")).traceEvents.length > 5);
});

test("usage and input errors: one line, no stack, nothing half-written", () => {
  assertOneLineError(runCli(["report"]), 2, /report: expected one trace file/, "no file");
  assertOneLineError(runCli(["report", nd]), 2, /nothing to write/, "no output");
  assertOneLineError(
    runCli(["report", join(tmp, "nope"), "-o", "x.html"]),
    1,
    /cannot read .*nope: ENOENT/,
    "missing",
  );
  const bad = join(tmp, "bad.ndjson");
  writeFileSync(bad, `${JSON.stringify(makeLike().events[0])}\n{"event":"exec",\n`);
  const out = join(tmp, "bad.html");
  assertOneLineError(runCli(["report", bad, "-o", out]), 1, /bad\.ndjson:2: not a JSON line/, "bad line");
  assertOneLineError(
    runCli(["report", nd, "-o", join(tmp, "no/such/dir.html")]),
    1,
    /cannot write report/,
    "dir",
  );
  assert.throws(() => readFileSync(out));
  // trace --html finds out before tracing, not after.
  assertOneLineError(
    runCli(["trace", "--html", join(tmp, "no/such/dir.html"), "--", "true"]),
    1,
    /trace: cannot write --html .*dir\.html: ENOENT/,
    "trace --html",
  );
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
