// Files named on the command line are not trusted (issue 18 item 7, item 8's deep
// JSON): regular files only, size caps, and policy files that others can write refused.
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { InputFileError, readInputFile } from "../../src/input-file.ts";
import { loadAllowlist, loadRules } from "../../src/tracker/allowlist.ts";
import { RulesError } from "../../src/tracker/errors.ts";

const work = mkdtempSync(join(tmpdir(), "tsbpf-hardening-input-"));
chmodSync(work, 0o755);
const isRoot = process.geteuid?.() === 0;

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof RulesError || e instanceof InputFileError) return e.message;
    throw e;
  }
  throw new Error("expected an error");
}

test("not a regular file: /dev/zero behind a symlink, a FIFO, a directory", () => {
  const zero = join(work, "zero.json");
  symlinkSync("/dev/zero", zero);
  assert.match(
    reason(() => loadRules(zero)),
    /character device, expected a regular file/,
  );
  assert.match(
    reason(() => loadAllowlist(zero)),
    /character device/,
  );
  const fifo = join(work, "fifo");
  const r = spawnSync("mkfifo", [fifo]);
  if (r.status === 0) {
    const t0 = Date.now();
    assert.match(
      reason(() => loadRules(fifo)),
      /a FIFO, expected a regular file/,
    );
    assert.ok(Date.now() - t0 < 5000, "did not block on the FIFO");
  }
  assert.match(
    reason(() => loadRules(work)),
    /it is a directory/,
  );
  assert.match(
    reason(() => readInputFile("/dev/zero", { what: "BTF file", maxBytes: 1 << 20 })),
    /^BTF file \/dev\/zero: cannot read the file: it is a character device/,
  );
});

test("size caps: checked before reading", () => {
  const big = join(work, "big.json");
  writeFileSync(big, "");
  truncateSync(big, 97 * 1024 * 1024); // sparse: costs nothing on disk
  const t0 = Date.now();
  assert.match(
    reason(() => loadRules(big)),
    /101711872 bytes, over the limit of 16 MiB/,
  );
  assert.ok(Date.now() - t0 < 2000);
});

test("policy files writable by others, or owned by another user, are refused", () => {
  const f = join(work, "rules.json");
  writeFileSync(f, '{"rules": []}');
  chmodSync(f, 0o644);
  assert.equal(loadRules(f), []);
  chmodSync(f, 0o666);
  assert.match(
    reason(() => loadRules(f)),
    /writable by everyone \(mode 0666\).*chmod go-w/,
  );
  chmodSync(f, 0o664);
  assert.match(
    reason(() => loadRules(f)),
    /writable by its group/,
  );
  chmodSync(f, 0o644);
  if (isRoot) {
    chownSync(f, 65534, 65534);
    assert.match(
      reason(() => loadAllowlist(f)),
      /owned by uid 65534, neither root nor you/,
    );
    chownSync(f, 0, 0);
  }
  const open = join(work, "open");
  mkdirSync(open);
  chmodSync(open, 0o777);
  const g = join(open, "allow.txt");
  writeFileSync(g, "/usr/bin/*\n");
  chmodSync(g, 0o644);
  assert.match(
    reason(() => loadAllowlist(g)),
    /world-writable without the sticky bit/,
  );
});

test("deeply nested JSON: a clear error, not a stack overflow", () => {
  const f = join(work, "deep.json");
  writeFileSync(f, `${"[".repeat(100_000)}${"]".repeat(100_000)}`);
  chmodSync(f, 0o644);
  assert.match(
    reason(() => loadRules(f)),
    /deep\.json:1:257: invalid JSON: nested deeper than 256 levels/,
  );
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
