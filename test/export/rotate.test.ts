// RotatingFile (src/export/rotate.ts) on its own, and SIGHUP on a running `tsbpf trace -o`.
import { spawnSync } from "node:child_process";
import {
  closeSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseByteSize } from "../../src/cli/size.ts";
import { RotatingFile } from "../../src/export/rotate.ts";
import { CLI } from "../helpers/cli.ts";
import { privileged, ROOT_DIR } from "../helpers/env.ts";
import { Proc, until } from "./servers.ts";

const dir = mkdtempSync(join(tmpdir(), "tsbpf-export-rot-"));
let n = 0;
const fresh = () => join(dir, `f${++n}`, "out.ndjson");
const mk = (p: string) => spawnSync("mkdir", ["-p", join(p, "..")]);
const lines = (count: number, len: number, from = 0) =>
  Buffer.from(
    Array.from(
      { length: count },
      (_, i) => `${String(from + i).padStart(6, "0")}${"x".repeat(len - 7)}\n`,
    ).join(""),
  );

test("a buffer of lines is cut at line boundaries: no file passes the limit, no line is split", () => {
  const p = fresh();
  mk(p);
  const f = new RotatingFile(p, { maxBytes: 1000, keep: 3 });
  // 100-byte lines, written 7 at a time: 10 fit a file.
  for (let i = 0; i < 6; i++) f.write(lines(7, 100, i * 7));
  f.close();
  const names = readdirSync(join(p, "..")).sort();
  assert.equal(names, ["out.ndjson", "out.ndjson.1", "out.ndjson.2", "out.ndjson.3"]);
  const all = [3, 2, 1].map((i) => readFileSync(`${p}.${i}`, "utf8")).join("") + readFileSync(p, "utf8");
  // 42 lines written; the oldest file (lines 0-9) was removed with keep=3.
  const got = all.split("\n").filter(Boolean);
  assert.is(got.length, 32);
  got.forEach((l, i) => {
    assert.is(l.length, 99);
    assert.is(Number(l.slice(0, 6)), i + 10);
  });
  for (const name of names) assert.ok(lstatSync(join(p, "..", name)).size <= 1000, name);
  assert.is(lstatSync(p).mode & 0o777, 0o600);
});

test("a line longer than the limit goes alone into its own file", () => {
  const p = fresh();
  mk(p);
  const f = new RotatingFile(p, { maxBytes: 100, keep: 5 });
  f.write(lines(1, 50, 0));
  f.write(Buffer.concat([lines(1, 300, 1), lines(1, 50, 2)]));
  f.close();
  assert.is(readFileSync(`${p}.2`, "utf8"), lines(1, 50, 0).toString());
  assert.is(readFileSync(`${p}.1`, "utf8"), lines(1, 300, 1).toString());
  assert.is(readFileSync(p, "utf8"), lines(1, 50, 2).toString());
});

test("without truncate, a restart appends and counts what is there toward the limit", () => {
  const p = fresh();
  mk(p);
  writeFileSync(p, lines(9, 100));
  const f = new RotatingFile(p, { maxBytes: 1000 });
  f.write(lines(2, 100, 9));
  f.close();
  assert.is(readFileSync(`${p}.1`, "utf8").length, 1000);
  assert.is(readFileSync(p, "utf8").length, 100);
});

test("reopen() after the file was moved away starts a new file; a symlink at the path is refused", () => {
  const p = fresh();
  mk(p);
  const f = new RotatingFile(p, {});
  f.write(lines(1, 10, 0));
  renameSync(p, `${p}.moved`);
  f.write(lines(1, 10, 1));
  f.reopen();
  f.write(lines(1, 10, 2));
  f.close();
  assert.is(readFileSync(`${p}.moved`, "utf8"), lines(2, 10, 0).toString());
  assert.is(readFileSync(p, "utf8"), lines(1, 10, 2).toString());
  const link = join(dir, "link.ndjson");
  symlinkSync("/etc/passwd", link);
  assert.throws(() => new RotatingFile(link, {}), /symbolic link/);
});

test("parseByteSize", () => {
  assert.is(parseByteSize("100M"), 100 * 1024 * 1024);
  assert.is(parseByteSize("1G"), 1024 ** 3);
  assert.is(parseByteSize("64k"), 65536);
  assert.is(parseByteSize("4096"), 4096);
  assert.is(parseByteSize("x"), undefined);
  assert.is(parseByteSize("0"), undefined);
});

test("tsbpf trace -o FILE: SIGHUP reopens FILE after logrotate moved it", async () => {
  if (!privileged("trace -o with SIGHUP")) return;
  const out = join(dir, "hup.ndjson");
  const fifos = ["a", "b", "c"].map((x) => join(dir, `fifo-${x}`));
  spawnSync("mkfifo", fifos);
  const script = `read x < ${fifos[0]}; /bin/echo first; read x < ${fifos[1]}; /bin/echo second; read x < ${fifos[2]}`;
  const trace = new Proc(process.execPath, [...CLI, "trace", "--json", "-o", out, "--", "sh", "-c", script], {
    cwd: ROOT_DIR,
  });
  const release = (fifo: string) =>
    until(`the workload to read ${fifo}`, () => {
      try {
        const fd = openSync(fifo, "w");
        writeSync(fd, "go\n");
        closeSync(fd);
        return true;
      } catch {
        return undefined;
      }
    });
  const has = (file: string, word: string) => () => {
    try {
      return readFileSync(file, "utf8").includes(`"${word}"`) ? true : undefined;
    } catch {
      return undefined;
    }
  };
  try {
    await release(fifos[0] as string);
    await until("'first' in FILE", has(out, "first"), 60_000);
    renameSync(out, `${out}.1`);
    trace.child.kill("SIGHUP");
    await until("a new FILE", () => {
      try {
        return lstatSync(out).isFile() ? true : undefined;
      } catch {
        return undefined;
      }
    });
    await release(fifos[1] as string);
    await until("'second' in the new FILE", has(out, "second"), 60_000);
    await release(fifos[2] as string);
    assert.is(await trace.done, 0, trace.out);
    assert.not.ok(readFileSync(`${out}.1`, "utf8").includes('"second"'));
    assert.not.ok(readFileSync(out, "utf8").includes('"first"'));
  } finally {
    await trace.stop("SIGKILL");
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
