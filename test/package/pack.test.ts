// The npm package as a user gets it: `npm pack` (prepack builds dist/lib), the tarball
// installed into an empty project outside the repository, then with plain node (no
// tsx) and a strict tsconfig of the consumer's own (no tsbpf-specific flags):
// - `npx tsbpf --version` and `npx tsbpf gen` from the installed package;
// - a script importing "tsbpf" (and require("tsbpf")) loads test/fixtures/globals.bpf.o
//   with a rodata value, attaches, triggers the program and reads the .bss counter;
// - every example in examples/ type-checks (skipLibCheck off: the package's
//   declarations are checked too), its committed bindings equal what the installed
//   `tsbpf gen` writes, and it runs as root with the output it promises;
// - a consumer file that misspells a generated program name fails to type-check.
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { privileged, ROOT_DIR } from "../helpers/env.ts";

const VERSION = JSON.parse(readFileSync(join(ROOT_DIR, "package.json"), "utf8")).version as string;
const EXAMPLES = readdirSync(join(ROOT_DIR, "examples"), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

const work = mkdtempSync(join(tmpdir(), "tsbpf-npm-pack-"));
const project = join(work, "consumer");
const tsc = join(ROOT_DIR, "node_modules", "typescript", "bin", "tsc");
test.after(() => rmSync(work, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd: string, timeoutMs = 10 * 60 * 1000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {
    cwd,
    encoding: "utf8",
    timeout: timeoutMs,
    // npm_* variables of an outer `npm test` would point npm at this repository.
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("npm_"))),
  });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.ok(
    r.status === 0,
    `${what} failed (exit ${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}${r.error ? `\n${r.error}` : ""}`,
  );
  return r.stdout;
}

/** A strict tsconfig as `tsc --init` writes it, for Node 20 (ES2022) with Node's types. */
function tsconfig(include: string[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify(
    {
      compilerOptions: {
        module: "nodenext",
        target: "es2022",
        types: ["node"],
        strict: true,
        noUncheckedIndexedAccess: true,
        exactOptionalPropertyTypes: true,
        verbatimModuleSyntax: true,
        isolatedModules: true,
        moduleDetection: "force",
        skipLibCheck: false,
        ...extra,
      },
      include,
    },
    null,
    2,
  );
}

test("npm pack, then install the tarball into an empty project", () => {
  const packed = ok(run("npm", ["pack", "--pack-destination", work, "--json"], ROOT_DIR), "npm pack");
  const info = JSON.parse(packed.slice(packed.indexOf("["))) as {
    filename: string;
    files: { path: string }[];
  }[];
  const files = info[0]?.files.map((f) => f.path) ?? [];
  for (const want of [
    "LICENSE",
    "README.md",
    "package.json",
    "bin/tsbpf.js",
    "dist/lib/index.js",
    "dist/lib/index.d.ts",
  ])
    assert.ok(files.includes(want), `the tarball has ${want}`);
  assert.ok(files.includes("dist/bpf/process.bpf.o"), "the tarball has the tracer's object");
  // Every Markdown document the README links to ships, so its links work from node_modules.
  const readme = readFileSync(join(ROOT_DIR, "README.md"), "utf8");
  for (const m of readme.matchAll(/\]\((docs\/[^)#\s]+\.md)/g))
    assert.ok(files.includes(m[1]), `the tarball has ${m[1]}, which the README links to`);
  const leaked = files.filter(
    (f) =>
      /^(src|test|bench|scripts)\//.test(f) ||
      (f.endsWith(".ts") && !f.endsWith(".d.ts") && !f.startsWith("examples/")),
  );
  assert.equal(leaked, [], "no sources, tests or scripts in the tarball");

  mkdirSync(project);
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  ok(
    run(
      "npm",
      ["install", "--no-audit", "--no-fund", "--prefer-offline", join(work, info[0]?.filename ?? "")],
      project,
    ),
    "npm install of the tarball",
  );
  const deps = Object.keys(
    JSON.parse(readFileSync(join(project, "node_modules", "tsbpf", "package.json"), "utf8")).dependencies ??
      {},
  );
  assert.equal(deps, ["koffi"], "koffi is the only runtime dependency");
  // The consumer's TypeScript types for Node: the repository's copy (same as `npm i -D @types/node`).
  mkdirSync(join(project, "node_modules", "@types"), { recursive: true });
  symlinkSync(
    join(ROOT_DIR, "node_modules", "@types", "node"),
    join(project, "node_modules", "@types", "node"),
  );
  symlinkSync(join(ROOT_DIR, "node_modules", "undici-types"), join(project, "node_modules", "undici-types"));
});

test("npx tsbpf --version runs the compiled CLI with plain node", () => {
  const out = ok(run("npx", ["--no-install", "tsbpf", "--version"], project), "npx tsbpf --version");
  assert.is(out.trim(), `tsbpf ${VERSION}`);
});

test("a plain-node script imports tsbpf, loads globals.bpf.o with rodata, attaches and reads .bss", () => {
  if (!privileged("loading a BPF object from the installed package")) return;
  const script = join(project, "globals-check.mjs");
  writeFileSync(
    script,
    [
      'import koffi from "koffi";',
      'import { createRequire } from "node:module";',
      'import { loadCollection, Collection, TsbpfError } from "tsbpf";',
      'import { Btf } from "tsbpf/btf";',
      'import { RingBufReader } from "tsbpf/ringbuf";',
      `const coll = await loadCollection(${JSON.stringify(join(ROOT_DIR, "test/fixtures/globals.bpf.o"))}, { rodata: { multiplier: 3, target_tgid: process.pid } });`,
      "coll.programs.on_getpgid.attach();",
      'const getpgid = koffi.load("libc.so.6").func("int getpgid(int)");',
      "for (let i = 0; i < 4; i++) getpgid(0);",
      "console.log(`getpgid_calls=${coll.globals.bss.getpgid_calls} multiplier=${coll.globals.rodata.multiplier}`);",
      "console.log(`inspect ${JSON.stringify(Object.keys(coll.globals.bss))}`);",
      "coll.close();",
      "const cjs = createRequire(import.meta.url)('tsbpf');",
      "console.log(`require ${typeof cjs.loadCollection} ${coll instanceof Collection} ${typeof Btf.parse} ${typeof RingBufReader} ${new TsbpfError('x').name}`);",
    ].join("\n"),
  );
  const out = ok(run(process.execPath, [script], project), "node globals-check.mjs");
  assert.match(out, "getpgid_calls=4 multiplier=3");
  assert.match(out, 'inspect ["calls","total","last_msg","getpgid_calls"]');
  assert.match(out, "require function true function function TsbpfError");
});

test("each example: bindings current, type-checks strictly, runs with plain node", () => {
  for (const ex of EXAMPLES) {
    const dir = join(project, "examples", ex);
    cpSync(join(ROOT_DIR, "examples", ex), dir, { recursive: true });
    const gen = `${ex}.gen.ts`;
    ok(
      run("npx", ["--no-install", "tsbpf", "gen", `${ex}.bpf.o`, "-o", `fresh.${gen}`], dir),
      `tsbpf gen (${ex})`,
    );
    assert.ok(
      readFileSync(join(dir, `fresh.${gen}`), "utf8") === readFileSync(join(dir, gen), "utf8"),
      `examples/${ex}/${gen} is stale: run tsbpf gen examples/${ex}/${ex}.bpf.o -o examples/${ex}/${gen}`,
    );
    rmSync(join(dir, `fresh.${gen}`));
  }
  writeFileSync(join(project, "tsconfig.json"), tsconfig(["examples"], { outDir: "out", rootDir: "." }));
  ok(run(process.execPath, [tsc, "-p", project], project), "tsc on the examples");
  if (!privileged("running the examples")) return;
  const expect: Record<string, RegExp[]> = {
    execsnoop: [
      /^exec pid=\d+ ppid=\d+ uid=0 comm=true filename=\/bin\/true$/m,
      /^exec pid=\d+ ppid=\d+ uid=0 comm=echo filename=\/bin\/echo$/m,
      /^\d+ execs, 0 dropped$/m,
    ],
    "exec-count": [/^tsbpfx[0-9a-f]+: 3 execs$/m, /^\d+ commands; top: /m],
    globals: [
      /rodata: \{ target_tgid: \d+ \}/,
      /^after 5 calls: calls=5$/m,
      /^disabled, 3 more calls: calls=5$/m,
      /^enabled again, 1 more: calls=6 last_gid=0$/m,
    ],
  };
  for (const ex of EXAMPLES) {
    const out = ok(
      run(process.execPath, [join(project, "out", "examples", ex, "main.js")], project, 60_000),
      ex,
    );
    for (const re of expect[ex] ?? [/./]) assert.match(out, re, `examples/${ex} printed:\n${out}`);
  }
});

test("a consumer that misspells a generated program name does not type-check", () => {
  const dir = join(project, "typo");
  mkdirSync(dir);
  cpSync(join(ROOT_DIR, "examples", "globals", "globals.gen.ts"), join(dir, "globals.gen.ts"));
  writeFileSync(
    join(dir, "use.ts"),
    [
      'import { loadGlobals } from "./globals.gen.js";',
      "const objs = await loadGlobals();",
      "objs.programs.on_getegd.attach();",
      "objs.close();",
      "",
    ].join("\n"),
  );
  writeFileSync(join(dir, "tsconfig.json"), tsconfig(["."], { noEmit: true }));
  const r = run(process.execPath, [tsc, "-p", dir], dir);
  assert.is(r.status, 2, `tsc must fail:\n${r.stdout}`);
  const errors = r.stdout.split("\n").filter((l) => l.includes("error TS"));
  assert.equal(errors, [
    "use.ts(3,15): error TS2551: Property 'on_getegd' does not exist on type 'GlobalsPrograms'. Did you mean 'on_getegid'?",
  ]);
});

test.run();
