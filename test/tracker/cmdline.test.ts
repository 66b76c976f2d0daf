// Process titles (issue 17 item 7): a process that rewrites its title shows like ps,
// not as the title followed by dozens of empty arguments; real argvs are untouched.
import { spawn } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { cmdlineArgv } from "../../src/tracker/procfs.ts";
import { argvToBytes } from "../../src/tracker/utf8.ts";
import { runCli } from "../helpers/cli.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

test("cmdlineArgv: NUL padding after a title is dropped; real empty arguments kept", () => {
  assert.equal(cmdlineArgv(bytes(`my-daemon worker${"\0".repeat(50)}`)), ["my-daemon", "worker"]);
  assert.equal(cmdlineArgv(bytes(`nginx: worker process\0\0\0`)), ["nginx:", "worker", "process"]);
  assert.equal(cmdlineArgv(argvToBytes(["sh", "-c", "x", ""])), ["sh", "-c", "x", ""]);
  assert.equal(cmdlineArgv(argvToBytes(["/bin/echo", "a b"])), ["/bin/echo", "a b"]);
  assert.equal(cmdlineArgv(bytes(`postgres: checkpointer\0\0\0\0`)), ["postgres:", "checkpointer"]);
});

test("tsbpf tree --pid: node with process.title shows 'my-daemon worker' like ps", async () => {
  const child = spawn(process.execPath, ["-e", 'process.title="my-daemon worker"; setInterval(()=>{},1e3)'], {
    stdio: "ignore",
  });
  try {
    await new Promise((r) => setTimeout(r, 800));
    const r = runCli(["tree", "--pid", String(child.pid)], { env: { NO_COLOR: "1" } });
    assert.is(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`^${child.pid} my-daemon worker( \\{\\d+ threads\\})?$`, "m"),
      r.stdout,
    );
    assert.not.match(r.stdout, /''/);
  } finally {
    child.kill();
  }
});

test.run();
