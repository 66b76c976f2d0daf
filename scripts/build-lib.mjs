#!/usr/bin/env node
// `npm run build:lib` (also run by `npm pack` through prepack): the npm package's
// JavaScript and type declarations.
//   1. tsc -p tsconfig.lib.json compiles src/ into dist/lib as ES modules, rewriting
//      the sources' relative `.ts` import specifiers to `.js` (rewriteRelativeImportExtensions);
//   2. the emitted .d.ts files keep `.ts` specifiers (tsc does not rewrite declarations),
//      which a consumer's tsc only accepts with allowImportingTsExtensions: they are
//      rewritten to `.js` here, so a default tsconfig type-checks against the package;
//   3. declarations naming Symbol.dispose reference dist/lib/disposable.d.ts (its
//      declarations, as @types/node writes them), so `using` and `[Symbol.dispose]` type-check for a
//      consumer whose `lib` predates ES2025 explicit resource management;
//   4. the tracer's BPF objects go to dist/bpf, where src/loader/spec-file.ts looks for them
//      from dist/lib (`tsbpf trace` from the installed package).
// Usage: node scripts/build-lib.mjs [--out DIR]   (default dist; tests build elsewhere)
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const outAt = argv.indexOf("--out");
const dist = outAt >= 0 ? resolve(argv[outAt + 1] ?? "") : join(root, "dist");
const lib = join(dist, "lib");

function fail(msg) {
  console.error(`build-lib: ${msg}`);
  process.exit(1);
}

rmSync(lib, { recursive: true, force: true });
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const r = spawnSync(process.execPath, [tsc, "-p", join(root, "tsconfig.lib.json"), "--outDir", lib], {
  cwd: root,
  stdio: "inherit",
});
if (r.status !== 0) fail(`tsc failed (exit ${r.status ?? r.signal})`);

// `from "./x.ts"`, `import("./x.ts")`, `export … from "../y.ts"`: relative specifiers only.
const TS_SPECIFIER = /((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']*?)\.ts(["'])/g;
function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}
let rewritten = 0;
for (const f of walk(lib)) {
  if (!f.endsWith(".d.ts")) continue;
  const text = readFileSync(f, "utf8");
  const next = text.replace(TS_SPECIFIER, "$1$2.js$3");
  if (next !== text) {
    writeFileSync(f, next);
    rewritten++;
  }
}

writeFileSync(
  join(lib, "disposable.d.ts"),
  [
    "// Explicit resource management (TC39, TypeScript 5.2+ lib esnext.disposable), declared",
    "// the same way @types/node declares them, for consumers whose `lib` lacks them.",
    "interface SymbolConstructor {",
    "  readonly dispose: unique symbol;",
    "  readonly asyncDispose: unique symbol;",
    "}",
    "interface Disposable {",
    "  [Symbol.dispose](): void;",
    "}",
    "interface AsyncDisposable {",
    "  [Symbol.asyncDispose](): PromiseLike<void>;",
    "}",
    "",
  ].join("\n"),
);
// Every declaration file that names Symbol.dispose references it, whichever entry a
// consumer imports.
for (const f of walk(lib)) {
  if (!f.endsWith(".d.ts") || f.endsWith("disposable.d.ts")) continue;
  const text = readFileSync(f, "utf8");
  if (!text.includes("Symbol.dispose")) continue;
  let rel = relative(dirname(f), join(lib, "disposable.d.ts"));
  if (!rel.startsWith(".")) rel = `./${rel}`;
  writeFileSync(f, `/// <reference path="${rel}" />\n${text}`);
}

mkdirSync(join(dist, "bpf"), { recursive: true });
const objects = readdirSync(join(root, "bpf")).filter((n) => n.endsWith(".bpf.o"));
if (objects.length === 0) fail("no bpf/*.bpf.o to ship");
for (const n of objects) copyFileSync(join(root, "bpf", n), join(dist, "bpf", n));
console.log(`build-lib: ${lib} (${rewritten} declaration files rewritten), ${objects.length} BPF objects`);
