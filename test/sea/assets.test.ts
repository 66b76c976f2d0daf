// src/binary/assets.ts outside the binary: objects come from <repo>/bpf, and
// readObjectFile() prefers the filesystem, then falls back to the embedded name.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { AssetError, assetNames, isSea, readAsset, readObjectFile } from "../../src/binary/assets.ts";
import { TsbpfError } from "../../src/errors.ts";
import { ROOT_DIR } from "../helpers/env.ts";

const work = mkdtempSync(join(tmpdir(), "tsbpf-assets-"));
const repoObjects = () => readdirSync(join(ROOT_DIR, "bpf")).filter((n) => n.endsWith(".bpf.o"));

function throwsAsset(fn: () => unknown, ...parts: string[]): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, AssetError);
    assert.instance(e, TsbpfError);
    for (const p of parts) assert.match((e as Error).message, p);
    return;
  }
  assert.unreachable("expected an AssetError");
}

test("not a SEA when run from source", () => {
  assert.is(isSea(), false);
});

test("assetNames lists bpf/*.bpf.o of the repository", () => {
  assert.equal(assetNames(), repoObjects().sort());
});

test("readObjectFile reads a real file first", () => {
  const p = join(work, "x.bpf.o");
  writeFileSync(p, new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3]));
  const r = readObjectFile(p);
  assert.is(r.path, p);
  assert.equal([...r.bytes], [0x7f, 0x45, 0x4c, 0x46, 1, 2, 3]);
});

test("a bare name that is not a file falls back to the repository object", () => {
  const names = repoObjects();
  if (names.length === 0) {
    // No object built yet: the fallback must still fail cleanly, naming the situation.
    throwsAsset(() => readObjectFile("process.bpf.o"), "process.bpf.o", "no BPF objects are embedded");
    return;
  }
  const name = names[0];
  const r = readObjectFile(name);
  assert.is(r.path, join(ROOT_DIR, "bpf", name));
  const want = readFileSync(join(ROOT_DIR, "bpf", name));
  assert.ok(Buffer.from(r.bytes).equals(want), "bytes differ from the file");
  assert.ok(Buffer.from(readObjectFile(`embedded:${name}`).bytes).equals(want), "embedded: bytes differ");
});

test("errors name the file and why", () => {
  throwsAsset(() => readObjectFile(join(work, "missing.bpf.o")), "missing.bpf.o", "no such file");
  throwsAsset(() => readObjectFile("nosuch.bpf.o"), "'nosuch.bpf.o'", "no embedded object of that name");
  const dir = join(work, "adir.bpf.o");
  mkdirSync(dir);
  throwsAsset(() => readObjectFile(dir), "it is a directory");
  throwsAsset(() => readObjectFile("embedded:nosuch.bpf.o"), "no embedded asset named 'nosuch.bpf.o'");
  throwsAsset(() => readAsset("../package.json"), "invalid embedded asset name");
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test.run();
