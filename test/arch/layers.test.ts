// The layering rule of src/ (README "How it is built"): every folder, and every file
// at the top of src/, has a rank in LAYERS below; a module may import from its own
// folder and from anything of a LOWER rank, never from its own rank's other folders or
// above. That makes the folder graph acyclic by construction; the cycle check below
// says so in words when someone changes the table instead of the import.
// Imports are parsed with the TypeScript compiler: static imports, `export … from`,
// type-only imports (a type is a dependency too) and dynamic import().
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ROOT_DIR } from "../helpers/env.ts";

/** Rank of each unit of src/ (a folder, or a file at the top of src/). Lower is lower. */
const LAYERS: Readonly<Record<string, number>> = {
  // Leaves: the error base class, the UAPI generated from the kernel's BTF; then the
  // UAPI constants and small helpers.
  "errors.ts": 0,
  "uapi.gen.ts": 0,
  "uapi.ts": 1,
  "version.ts": 1,
  "timing.ts": 1,
  "input-file.ts": 1,
  // The kernel seam: every syscall (syscalls.ts) and koffi.
  sys: 2,
  // Instructions; netlink messages over sys sockets.
  asm: 3,
  netlink: 3,
  // BTF: parsing, and the kernel's BTF read through sys.
  btf: 4,
  // Specs: what reading an object yields.
  "spec.ts": 5,
  // ELF → specs (pure).
  elf: 6,
  // CO-RE relocation; typed bindings generated from BTF.
  core: 7,
  gen: 7,
  // One kind of kernel object each: maps, links (attach), and the readers' shared base.
  maps: 8,
  link: 8,
  events: 8,
  // Specs → kernel objects; the perf-buffer reader.
  loader: 9,
  perf: 9,
  // The ring-buffer reader (and openEventReader, which falls back to perf); explain,
  // which observes a load.
  ringbuf: 10,
  explain: 10,
  // The process tracer.
  tracker: 11,
  // What is built on the tracer's events.
  export: 12,
  report: 12,
  // The library's entry point, and the CLI's sub-commands.
  "index.ts": 13,
  cli: 13,
  // The single-binary layer: only the CLI entry imports it.
  binary: 14,
  "cli.ts": 15,
};

const SRC = join(ROOT_DIR, "src");

interface Edge {
  from: string;
  to: string;
  /** "src/x/y.ts:12" */
  where: string;
  spec: string;
}

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** The unit (LAYERS key) a path under src/ belongs to. */
function unitOf(path: string): string {
  const rel = relative(SRC, path).split(/[\\/]/);
  return rel[0] as string;
}

/** Every relative module specifier in `path`, with its line. */
function importsOf(path: string, text = readFileSync(path, "utf8")): { spec: string; line: number }[] {
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const out: { spec: string; line: number }[] = [];
  const add = (node: ts.Node, lit: ts.Expression | undefined) => {
    if (lit && ts.isStringLiteralLike(lit))
      out.push({ spec: lit.text, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1 });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node, node.moduleSpecifier);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword)
      add(node, node.arguments[0]);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference))
      add(node, node.moduleReference.expression);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Edges between units of src/ (imports within one unit are not edges). */
function edges(): Edge[] {
  const out: Edge[] = [];
  for (const f of files(SRC)) {
    for (const { spec, line } of importsOf(f)) {
      if (!spec.startsWith(".")) continue;
      const target = resolve(dirname(f), spec);
      if (!target.startsWith(SRC)) continue;
      const from = unitOf(f);
      const to = unitOf(target);
      if (from !== to) out.push({ from, to, where: `${relative(ROOT_DIR, f)}:${line}`, spec });
    }
  }
  return out;
}

/** Upward or sideways edges, as "file:line: from (rank) imports to (rank) via 'spec'". */
function violations(es: readonly Edge[], layers: Readonly<Record<string, number>>): string[] {
  const out: string[] = [];
  for (const e of es) {
    const a = layers[e.from];
    const b = layers[e.to];
    if (a === undefined || b === undefined) continue;
    if (a <= b)
      out.push(
        `${e.where}: ${e.from} (layer ${a}) imports ${e.to} (layer ${b}) via '${e.spec}'` +
          (a === b ? " (same layer: neither may import the other)" : " (upward)"),
      );
  }
  return out;
}

/** Cycles in the unit graph, each as "a → b → a" with the import behind each step. */
function cycles(es: readonly Edge[]): string[] {
  const next = new Map<string, Map<string, Edge>>();
  for (const e of es) {
    if (!next.has(e.from)) next.set(e.from, new Map());
    const m = next.get(e.from) as Map<string, Edge>;
    if (!m.has(e.to)) m.set(e.to, e);
  }
  const found: string[] = [];
  const seen = new Set<string>();
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const dfs = (u: string) => {
    state.set(u, "open");
    stack.push(u);
    for (const v of next.get(u)?.keys() ?? []) {
      if (state.get(v) === "open") {
        const loop = [...stack.slice(stack.indexOf(v)), v];
        const key = [...loop.slice(0, -1)].sort().join(",");
        if (!seen.has(key)) {
          seen.add(key);
          const steps = loop
            .slice(0, -1)
            .map((x, i) => next.get(x)?.get(loop[i + 1] as string) as Edge)
            .map((s) => `${s.where} ('${s.spec}')`);
          found.push(`${loop.join(" → ")}: ${steps.join(", ")}`);
        }
      } else if (state.get(v) === undefined) dfs(v);
    }
    stack.pop();
    state.set(u, "done");
  };
  for (const u of next.keys()) if (state.get(u) === undefined) dfs(u);
  return found;
}

test("every folder and top-level file of src/ has a layer", () => {
  const units = readdirSync(SRC).filter((n) => n.endsWith(".ts") || statSync(join(SRC, n)).isDirectory());
  const missing = units.filter((u) => LAYERS[u] === undefined);
  assert.equal(missing, [], `give these a rank in test/arch/layers.test.ts LAYERS: ${missing.join(", ")}`);
  const stale = Object.keys(LAYERS).filter((u) => !units.includes(u));
  assert.equal(stale, [], `LAYERS names what src/ no longer has: ${stale.join(", ")}`);
});

test("src/ imports only downward, and its folders form no cycle", () => {
  const es = edges();
  assert.ok(es.length > 100, `only ${es.length} imports between folders found: is the parser broken?`);
  const bad = violations(es, LAYERS);
  assert.equal(bad, [], `imports against the layering (README "How it is built"):\n  ${bad.join("\n  ")}`);
  const loops = cycles(es);
  assert.equal(loops, [], `cycles between folders:\n  ${loops.join("\n  ")}`);
});

test("only src/sys/koffi.ts (and the binary's twin of it) imports koffi", () => {
  const allowed = new Set(["src/sys/koffi.ts", "src/binary/koffi-sea.ts"]);
  const found: string[] = [];
  for (const f of files(SRC))
    for (const { spec, line } of importsOf(f))
      if (spec === "koffi" && !allowed.has(relative(ROOT_DIR, f)))
        found.push(`${relative(ROOT_DIR, f)}:${line}`);
  assert.equal(found, []);
});

test("the checker sees each kind of import, and names an upward edge and a cycle", () => {
  const text = [
    'import { a } from "./a.ts";',
    'import type { B } from "../b.ts";',
    'export { c } from "./c.ts";',
    "async function f() {",
    '  await import("./d.ts");',
    "}",
    "const s = \"import x from './not-an-import.ts'\";",
  ].join("\n");
  assert.equal(
    importsOf("/x/probe.ts", text).map((i) => `${i.line}:${i.spec}`),
    ["1:./a.ts", "2:../b.ts", "3:./c.ts", "5:./d.ts"],
  );
  const es: Edge[] = [
    { from: "sys", to: "loader", where: "src/sys/x.ts:3", spec: "../loader/y.ts" },
    { from: "loader", to: "sys", where: "src/loader/y.ts:1", spec: "../sys/x.ts" },
  ];
  assert.equal(violations(es, LAYERS), [
    "src/sys/x.ts:3: sys (layer 2) imports loader (layer 9) via '../loader/y.ts' (upward)",
  ]);
  assert.equal(cycles(es), [
    "sys → loader → sys: src/sys/x.ts:3 ('../loader/y.ts'), src/loader/y.ts:1 ('../sys/x.ts')",
  ]);
});

test.run();
