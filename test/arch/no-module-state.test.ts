// Library code keeps no hidden state: no module-level `let` or `var` in the library's
// folders (issue 15). What a call depends on is passed in or owned by an object
// (BtfCache, FeatureProbes, a load's TargetBtfs). Parsed with the TypeScript compiler,
// so a `let` inside a function or a template string does not count.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ROOT_DIR } from "../helpers/env.ts";

const LIBRARY = [
  "asm",
  "btf",
  "core",
  "elf",
  "events",
  "explain",
  "link",
  "loader",
  "maps",
  "perf",
  "ringbuf",
  "sys",
];

/**
 * The exceptions, each for a reason: the syscall seam (the Syscalls in use, which
 * overrideSyscalls() swaps, and the bpf() recorder slot) and the libc module behind it
 * (koffi and libc, loaded on first use). src/binary is not library code.
 */
const ALLOWED = new Set(["src/sys/libc.ts", "src/sys/syscalls.ts"]);

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** `let`/`var` declarations at the top level of a module, as "file:line name". */
function topLevelMutables(path: string): string[] {
  const text = readFileSync(path, "utf8");
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, false);
  const out: string[] = [];
  for (const st of sf.statements) {
    if (!ts.isVariableStatement(st)) continue;
    const flags = st.declarationList.flags;
    if (flags & (ts.NodeFlags.Const | ts.NodeFlags.Using | ts.NodeFlags.AwaitUsing)) continue;
    for (const d of st.declarationList.declarations) {
      const line = sf.getLineAndCharacterOfPosition(d.getStart(sf)).line + 1;
      out.push(`${relative(ROOT_DIR, path)}:${line} ${d.name.getText(sf)}`);
    }
  }
  return out;
}

test("library folders declare no top-level let or var", () => {
  const found: string[] = [];
  for (const folder of LIBRARY) {
    const dir = join(ROOT_DIR, "src", folder);
    for (const f of files(dir)) {
      if (ALLOWED.has(relative(ROOT_DIR, f))) continue;
      found.push(...topLevelMutables(f));
    }
  }
  assert.equal(found, [], `module-level mutable state:\n  ${found.join("\n  ")}`);
});

test("the checker sees a top-level let and ignores one inside a function or a string", () => {
  const sf = (src: string) => {
    const p = join(ROOT_DIR, "test/arch/.probe.ts");
    return ts
      .createSourceFile(p, src, ts.ScriptTarget.Latest, false)
      .statements.filter((s) => ts.isVariableStatement(s) && !(s.declarationList.flags & ts.NodeFlags.Const))
      .length;
  };
  assert.is(sf("let a = 1;\nexport let b = 2;\nvar c;"), 3);
  assert.is(sf("function f() { let a = 1; }\nconst s = `let x = 1;`;"), 0);
});

test.run();
