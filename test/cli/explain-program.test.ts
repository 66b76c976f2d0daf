// explain --program NAME (issue 17 item 10): one program's relocations, CO-RE records
// and verdict instead of the whole object's; a misspelt name gets the list and a guess.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { assertOneLineError, runCli } from "../helpers/cli.ts";

test("explain --program handle_exit --no-load --json: only that program", () => {
  const r = runCli(["explain", "bpf/process.bpf.o", "--no-load", "--json", "--program", "handle_exit"]);
  assert.is(r.status, 0, r.stderr);
  const rep = JSON.parse(r.stdout);
  assert.equal(
    rep.programs.map((p: { name: string }) => p.name),
    ["handle_exit"],
  );
  assert.ok(rep.core_relocations.length > 0);
  for (const c of rep.core_relocations) assert.is(c.program, "handle_exit");
  for (const c of rep.relocations) assert.is(c.program, "handle_exit");
  const all = JSON.parse(runCli(["explain", "bpf/process.bpf.o", "--no-load", "--json"]).stdout);
  assert.ok(all.core_relocations.length > rep.core_relocations.length);
});

test("explain --program with a typo: one line, a guess and the names", () => {
  const r = runCli(["explain", "bpf/process.bpf.o", "--no-load", "--program", "handle_exex"]);
  assertOneLineError(
    r,
    2,
    /--program handle_exex: no such program \(did you mean handle_exec\?\); the object has handle_fork, /,
    "typo",
  );
});

test.run();
