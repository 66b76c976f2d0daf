// The committed BPF objects (bpf/*.bpf.o, test/fixtures/*.bpf.o) must be exactly
// what scripts/build-bpf.sh produces from the committed sources: parser and
// loader tests read the .o files, so a stale object would test the wrong code.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { haveTool, ROOT_DIR } from "../helpers/env.ts";

const SOURCE_DIRS = [
  "bpf",
  "test/fixtures",
  ...readdirSync(join(ROOT_DIR, "examples"), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => `examples/${d.name}`)
    .sort(),
];
const BUILD_TIMEOUT_MS = 10 * 60 * 1000; // clang on two shared, noisy cores

function sources(): string[] {
  const out: string[] = [];
  for (const dir of SOURCE_DIRS) {
    const abs = join(ROOT_DIR, dir);
    if (!existsSync(abs)) continue;
    for (const name of readdirSync(abs).sort()) {
      if (name.endsWith(".bpf.c")) out.push(`${dir}/${name}`);
    }
  }
  return out;
}

const objectOf = (src: string) => src.replace(/\.c$/, ".o");

function runBuild(args: string[], env: Record<string, string> = {}) {
  return spawnSync("bash", [join(ROOT_DIR, "scripts/build-bpf.sh"), ...args], {
    cwd: ROOT_DIR,
    encoding: "utf8",
    timeout: BUILD_TIMEOUT_MS,
    env: { ...process.env, ...env },
  });
}

/** Section names of an ELF64 little-endian object (enough for a sanity check). */
function sectionNames(bytes: Buffer): string[] {
  const shoff = Number(bytes.readBigUInt64LE(0x28));
  const shentsize = bytes.readUInt16LE(0x3a);
  const shnum = bytes.readUInt16LE(0x3c);
  const shstrndx = bytes.readUInt16LE(0x3e);
  const strOff = Number(bytes.readBigUInt64LE(shoff + shstrndx * shentsize + 0x18));
  const names: string[] = [];
  for (let i = 0; i < shnum; i++) {
    const nameOff = strOff + bytes.readUInt32LE(shoff + i * shentsize);
    names.push(bytes.toString("latin1", nameOff, bytes.indexOf(0, nameOff)));
  }
  return names;
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

test("there are BPF sources to check", () => {
  const srcs = sources();
  for (const f of ["maps", "globals", "calls", "attach", "core", "reject"]) {
    assert.ok(srcs.includes(`test/fixtures/${f}.bpf.c`), `test/fixtures/${f}.bpf.c is missing`);
  }
});

test("every .bpf.c has a committed .bpf.o next to it", () => {
  const tracked = existsSync(join(ROOT_DIR, ".git"))
    ? new Set(
        spawnSync("git", ["ls-files", "--", ...SOURCE_DIRS], { cwd: ROOT_DIR, encoding: "utf8" })
          .stdout.split("\n")
          .filter(Boolean),
      )
    : null;
  for (const src of sources()) {
    const obj = objectOf(src);
    assert.ok(existsSync(join(ROOT_DIR, obj)), `${obj} does not exist: run npm run build:bpf and commit it`);
    if (tracked?.has(src)) {
      assert.ok(tracked.has(obj), `${obj} is not committed (git add ${obj}) but ${src} is`);
    }
  }
});

test("objects keep their BTF and BTF.ext sections (nothing stripped)", () => {
  for (const src of sources()) {
    const obj = objectOf(src);
    const bytes = readFileSync(join(ROOT_DIR, obj));
    const names = sectionNames(bytes);
    assert.ok(names.includes(".BTF"), `${obj} has no .BTF section`);
    assert.ok(names.includes(".BTF.ext"), `${obj} has no .BTF.ext section`);
    assert.not.ok(bytes.includes(Buffer.from(ROOT_DIR)), `${obj} embeds the checkout path ${ROOT_DIR}`);
  }
});

test("committed objects are byte-identical to a fresh build", () => {
  if (!haveTool("clang-19")) return;
  const out = mkdtempSync(join(tmpdir(), "tsbpf-objects-"));
  try {
    const srcs = sources();
    const r = runBuild(srcs, { TSBPF_BPF_OUT: out });
    assert.is(r.status, 0, `scripts/build-bpf.sh failed:\n${r.stderr}`);
    const stale: string[] = [];
    for (const src of srcs) {
      const obj = objectOf(src);
      const committed = join(ROOT_DIR, obj);
      if (!existsSync(committed)) continue; // reported by the test above
      const fresh = readFileSync(join(out, obj));
      const old = readFileSync(committed);
      if (!fresh.equals(old)) {
        stale.push(
          `${obj} is stale (first difference at byte ${firstDifference(fresh, old)}; ` +
            `fresh ${fresh.length} bytes, committed ${old.length})`,
        );
      }
    }
    assert.equal(stale, [], `${stale.join("\n")}\nrun npm run build:bpf and commit the objects`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("build-bpf.sh applies `// tsbpf-cflags:` from the first line and fails on bad sources", () => {
  if (!haveTool("clang-19")) return;
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-cflags-"));
  try {
    const good = join(dir, "flags.bpf.c");
    writeFileSync(
      good,
      [
        "// tsbpf-cflags: -mcpu=v4 -DTSBPF_MARK=7",
        '#include "vmlinux.h"',
        "#include <bpf/bpf_helpers.h>",
        "#if TSBPF_MARK != 7",
        '#error "cflags line not applied"',
        "#endif",
        'SEC("syscall") int f(void *ctx) { return TSBPF_MARK; }',
        'char LICENSE[] SEC("license") = "GPL";',
        "",
      ].join("\n"),
    );
    const r = runBuild([good]);
    assert.is(r.status, 0, `build of ${good} failed:\n${r.stderr}`);
    assert.ok(existsSync(join(dir, "flags.bpf.o")), "flags.bpf.o was not written");

    // Without the flags line the #error fires: the script must report failure.
    const bad = join(dir, "noflags.bpf.c");
    writeFileSync(bad, readFileSync(good, "utf8").split("\n").slice(1).join("\n"));
    const r2 = runBuild([bad]);
    assert.is.not(r2.status, 0, "build-bpf.sh exited 0 for a source that does not compile");
    assert.match(r2.stderr, "failed to compile");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
