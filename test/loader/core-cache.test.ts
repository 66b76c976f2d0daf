// The persistent CO-RE cache (src/loader/core-cache.ts): entries round-trip, anything
// damaged, foreign or unsafe is ignored, and a warm load of process.bpf.o in a fresh
// process gives the kernel the same programs without parsing vmlinux BTF.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readObjectFile } from "../../src/binary/assets.ts";
import type { Btf } from "../../src/btf/btf.ts";
import { readCollectionSpec } from "../../src/elf/collection.ts";
import { coreCacheDir, coreCacheDisabled, openCoreCache, Sum64 } from "../../src/loader/core-cache.ts";
import { linkProgram } from "../../src/loader/link.ts";
import { privileged, ROOT_DIR } from "../helpers/env.ts";

const obj = readObjectFile("process.bpf.o");
const spec = readCollectionSpec(obj.bytes, obj.path);
const linked = () => spec.programs.map((p) => linkProgram(spec, p));

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "tsbpf-core-cache-"));
}

function entryFor(lps: ReturnType<typeof linked>) {
  return Object.fromEntries(
    lps.map((lp, i) => [
      lp.spec.name,
      {
        insns: lp.insns.map((b, j) => (b + i + j) & 0xff),
        attachBtfId: i + 1,
        poisoned: [{ index: 2, insn: 7, poisoned: true, error: "t___old::f not found", source: "x.c:9" }],
      },
    ]),
  );
}

test("directory: XDG_CACHE_HOME, else /var/cache for root, else ~/.cache; TSBPF_NO_CACHE", () => {
  assert.is(coreCacheDir({ XDG_CACHE_HOME: "/x" }), "/x/tsbpf");
  const dflt = process.getuid?.() === 0 ? "/var/cache/tsbpf" : "/h/.cache/tsbpf";
  assert.is(coreCacheDir({ HOME: "/h" }), dflt);
  assert.ok(coreCacheDisabled({ TSBPF_NO_CACHE: "1" }));
  assert.not.ok(coreCacheDisabled({ TSBPF_NO_CACHE: "0" }));
  assert.not.ok(coreCacheDisabled({}));
  assert.is(
    openCoreCache(spec, linked(), undefined, { XDG_CACHE_HOME: "/x", TSBPF_NO_CACHE: "1" }),
    undefined,
  );
});

test("an entry round-trips; a different object or --btf file misses", () => {
  const dir = tmp();
  try {
    const env = { XDG_CACHE_HOME: dir };
    const lps = linked();
    const c = openCoreCache(spec, lps, undefined, env);
    assert.ok(c);
    assert.is(c?.read(), undefined);
    const entry = entryFor(lps);
    c?.write(entry);
    assert.equal(openCoreCache(spec, linked(), undefined, env)?.read(), entry);
    // Other code (one changed instruction byte) → another key.
    const other = linked();
    (other[0] as (typeof other)[0]).insns[3] ^= 1;
    assert.is(openCoreCache(spec, other, undefined, env)?.read(), undefined);
    // Another target BTF file → another key.
    const target = spec.btf as Btf;
    assert.is(openCoreCache(spec, linked(), { target }, env)?.read(), undefined);
    // The same BTF as an extra target only is yet another key.
    assert.is(openCoreCache(spec, linked(), { extra: [target] }, env)?.read(), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("same file name, other code: a miss, then the entry is replaced (the key material is compared byte for byte)", () => {
  const dir = tmp();
  try {
    const env = { XDG_CACHE_HOME: dir };
    const a = openCoreCache(spec, linked(), undefined, env);
    const other = linked();
    // Same sizes and names: same file name, different key material.
    (other[1] as (typeof other)[1]).insns[9] ^= 0x40;
    const b = openCoreCache(spec, other, undefined, env);
    if (!a || !b) throw new Error("no cache");
    assert.is(a.file, b.file);
    a.write(entryFor(linked()));
    assert.ok(a.read());
    assert.is(b.read(), undefined);
    b.write(entryFor(other));
    assert.ok(b.read());
    assert.is(a.read(), undefined);
    assert.is(readdirSync(join(dir, "tsbpf")).length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Sum64: any change to one 32-bit word changes the sum; unaligned views agree with aligned ones", () => {
  const base = new Uint8Array(4096 + 3);
  for (let i = 0; i < base.length; i++) base[i] = (i * 131 + 7) & 0xff;
  const ref = new Sum64().bytes(base).hex();
  assert.match(ref, /^[0-9a-f]{16}$/);
  for (let i = 0; i < base.length; i += 97) {
    for (const bit of [0, 3, 7]) {
      const c = base.slice();
      (c as Uint8Array)[i] ^= 1 << bit;
      assert.is.not(new Sum64().bytes(c).hex(), ref, `byte ${i} bit ${bit}`);
    }
  }
  const shifted = new Uint8Array(base.length + 1);
  shifted.set(base, 1);
  assert.is(new Sum64().bytes(shifted.subarray(1)).hex(), ref);
  assert.is.not(new Sum64().str("ab").hex(), new Sum64().str("ba").hex());
});

test("damaged, truncated, unsafe or mismatching files are ignored", () => {
  const dir = tmp();
  try {
    const env = { XDG_CACHE_HOME: dir };
    const c = openCoreCache(spec, linked(), undefined, env);
    if (!c) throw new Error("no cache");
    c.write(entryFor(linked()));
    const good = readFileSync(c.file, "utf8");
    const bad = [
      "",
      "{",
      good.slice(0, good.length / 2),
      good.replace(/"insns":"[A-Za-z0-9+/]{4}/, '"insns":"AAAA'), // content no longer matches `sum`
      JSON.stringify({ ...JSON.parse(good), format: "tsbpf-core-cache-0" }),
      JSON.stringify({ ...JSON.parse(good), key: "0" }),
      JSON.stringify({ ...JSON.parse(good), material: `${JSON.parse(good).material}x` }),
    ];
    for (const text of bad) {
      writeFileSync(c.file, text, { mode: 0o600 });
      assert.is(c.read(), undefined, `accepted: ${text.slice(0, 60)}`);
    }
    // A file others can write is not trusted, even when its content is fine.
    writeFileSync(c.file, good);
    assert.ok(c.read());
    chmodSync(c.file, 0o666);
    assert.is(c.read(), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an unwritable cache directory is silently skipped", () => {
  const c = openCoreCache(spec, linked(), undefined, { XDG_CACHE_HOME: "/proc/tsbpf-no-such-dir" });
  assert.ok(c);
  c?.write(entryFor(linked()));
  assert.is(c?.read(), undefined);
});

test("warm load in a fresh process: same programs in the kernel, vmlinux BTF not parsed", () => {
  if (!privileged("CO-RE cache load")) return;
  const dir = tmp();
  try {
    const run = (extra: Record<string, string> = {}) => {
      const r = spawnSync(process.execPath, ["--import", "tsx", "test/loader/scripts/cache-load.ts"], {
        cwd: ROOT_DIR,
        encoding: "utf8",
        timeout: 120_000,
        env: { ...process.env, XDG_CACHE_HOME: dir, ...extra },
      });
      assert.is(r.status, 0, r.stderr);
      return JSON.parse(r.stdout.trim()) as { parsedVmlinux: boolean; progs: Record<string, string> };
    };
    const cold = run();
    assert.ok(cold.parsedVmlinux);
    assert.is(readdirSync(join(dir, "tsbpf")).length, 1);
    const warm = run();
    assert.not.ok(warm.parsedVmlinux);
    assert.equal(warm.progs, cold.progs);
    const off = run({ TSBPF_NO_CACHE: "1" });
    assert.ok(off.parsedVmlinux);
    assert.equal(off.progs, cold.progs);
    // A damaged entry: recomputed and rewritten, same programs.
    const file = join(dir, "tsbpf", readdirSync(join(dir, "tsbpf"))[0] as string);
    writeFileSync(file, "not json", { mode: 0o600 });
    const again = run();
    assert.ok(again.parsedVmlinux);
    assert.equal(again.progs, cold.progs);
    assert.not.ok(run().parsedVmlinux);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
