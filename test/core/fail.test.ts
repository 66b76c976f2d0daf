// An unguarded read of a field the kernel lacks: CO-RE poisons the instruction, the
// verifier rejects it, and `tsbpf load` reports the relocation (not the verifier's
// "invalid func unknown#195896080") with exit status 1 and no stack trace.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { privileged, ROOT_DIR } from "../helpers/env.ts";

const OBJ = "test/fixtures/core_fail.bpf.o";

/** Line of the unguarded read in the source, so the test follows edits of the fixture. */
function lineOf(needle: string): number {
  const lines = readFileSync(`${ROOT_DIR}/test/fixtures/core_fail.bpf.c`, "utf8").split("\n");
  const i = lines.findIndex((l) => l.includes(needle));
  assert.ok(i >= 0);
  return i + 1;
}

test("tsbpf load: named CO-RE error, exit 1, no stack trace", () => {
  if (!privileged("CO-RE failure load")) return;
  const pin = `/sys/fs/bpf/tsbpf-core-fail-${process.pid}`;
  try {
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", "src/cli.ts", "load", OBJ, "--pin", pin, "--no-attach"],
      {
        cwd: ROOT_DIR,
        encoding: "utf8",
        timeout: 120_000,
      },
    );
    assert.is(r.status, 1, `stderr: ${r.stderr}`);
    const msg = r.stderr.trim().replace(/^tsbpf: /, "");
    // The compiler may schedule the relocated insn next to the previous statement.
    const lines = [lineOf("int pid = BPF_CORE_READ(t, pid)"), lineOf("return pid + BPF_CORE_READ")];
    assert.ok(
      lines.some(
        (n) =>
          msg ===
          `CO-RE relocation #1 in program read_missing failed: task_struct::tsbpf_no_such_field not found in kernel BTF (wanted by ${OBJ.replace(".o", ".c")}:${n})`,
      ),
      msg,
    );
    assert.not.match(r.stderr, /\n\s+at /);
  } finally {
    rmSync(pin, { recursive: true, force: true });
  }
});

test.run();
