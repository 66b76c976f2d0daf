// `tsbpf gen`: the bindings of every committed object compile (strict, with the
// consumer-side checks tsc --init turns on), a misspelt program name is a type error,
// each generated decoder reads the same values as the runtime BTF codec, and the
// tracer's own generated enums (src/tracker/process.gen.ts) match bpf/process.bpf.o.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Btf } from "../../src/btf/btf.ts";
import { makeCodec } from "../../src/btf/codec.ts";
import { readCollectionSpec } from "../../src/elf/collection.ts";
import { generateBindings, objectBaseName } from "../../src/gen/bindings.ts";
import { ROOT_DIR } from "../helpers/env.ts";

const OBJECTS = ["bpf", "test/fixtures"].flatMap((dir) =>
  readdirSync(join(ROOT_DIR, dir))
    .filter((n) => n.endsWith(".bpf.o"))
    .sort()
    .map((n) => join(dir, n)),
);

function read(rel: string) {
  const bytes = new Uint8Array(readFileSync(join(ROOT_DIR, rel)));
  return { bytes, spec: readCollectionSpec(bytes, rel) };
}

const tmp = mkdtempSync(join(ROOT_DIR, ".tmp-gen-"));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test("the bindings of every object compile under strict settings; a misspelt program name does not", () => {
  const index = join(ROOT_DIR, "src", "index.ts");
  for (const rel of OBJECTS) {
    const { bytes, spec } = read(rel);
    const name = objectBaseName(rel);
    writeFileSync(join(tmp, `${name}.gen.ts`), generateBindings(spec, bytes, { importFrom: index }));
  }
  // Typed use of one object's bindings, and one misspelt name (line 6).
  writeFileSync(
    join(tmp, "use.ts"),
    [
      'import { loadGlobals, type GlobalsObjects, decodeBumpArgs, SIZEOF } from "./globals.gen.ts";',
      "export async function use(): Promise<bigint> {",
      "  const objs: GlobalsObjects = await loadGlobals({ rodata: { multiplier: 3, use_bias: true } });",
      "  objs.programs.on_getpgid.attach();",
      "  const n: bigint = objs.globals.bss.getpgid_calls;",
      "  objs.programs.on_getpgd.attach();",
      "  const m: number = objs.globals.rodata.multiplier + decodeBumpArgs(new DataView(new ArrayBuffer(SIZEOF.bump_args))).amount;",
      "  objs.close();",
      "  return n + BigInt(m);",
      "}",
      "",
    ].join("\n"),
  );
  writeFileSync(
    join(tmp, "tsconfig.json"),
    JSON.stringify({
      extends: join(ROOT_DIR, "tsconfig.json"),
      compilerOptions: { noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, noEmit: true },
      include: ["*.ts"],
    }),
  );
  const tsc = join(ROOT_DIR, "node_modules", "typescript", "bin", "tsc");
  const r = spawnSync(process.execPath, [tsc, "-p", tmp], { encoding: "utf8", cwd: ROOT_DIR });
  const errors = r.stdout.split("\n").filter((l) => l.includes("error TS"));
  // Only errors in the generated files and use.ts count (src/ itself is checked without these flags).
  const ours = errors.filter((l) => l.startsWith(tmp.slice(ROOT_DIR.length)) || l.includes(".tmp-gen-"));
  assert.equal(
    ours.map((l) => l.replace(/^.*[/\\]/, "")),
    [
      "use.ts(6,17): error TS2551: Property 'on_getpgd' does not exist on type 'GlobalsPrograms'. Did you mean 'on_getpgid'?",
    ],
  );
});

/** Ids of the structs and unions a module declares, from its "/** struct NAME (N bytes)" comments. */
function declaredComposites(btf: Btf, source: string): { id: number; tsName: string }[] {
  const out: { id: number; tsName: string }[] = [];
  const re = /\/\*\* (struct|union) (\w+) \(\d+ bytes\) \*\/\nexport interface (\w+) /g;
  for (const m of source.matchAll(re)) {
    const ids = btf.findByNameKind(m[2] as string, m[1] as "struct" | "union");
    out.push({ id: ids[0] as number, tsName: m[3] as string });
  }
  return out;
}

test("generated decoders read what the runtime codec reads, for every struct of every object", async () => {
  let checked = 0;
  for (const rel of OBJECTS) {
    const { bytes, spec } = read(rel);
    const btf = spec.btf as Btf;
    const source = generateBindings(spec, bytes, { mode: "types" });
    const file = join(tmp, `${objectBaseName(rel)}.types.ts`);
    writeFileSync(file, source);
    const mod = (await import(file)) as Record<string, (v: DataView, o?: number) => unknown>;
    for (const { id, tsName } of declaredComposites(btf, source)) {
      const codec = makeCodec(btf, id);
      const decode = mod[`decode${tsName}`];
      assert.ok(decode, `${rel}: decode${tsName} is exported`);
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: codec.size + 8, maxLength: codec.size + 8 }),
          fc.nat(8),
          (b, off) => {
            const v = new DataView(b.buffer);
            assert.equal(decode?.(v, off), codec.decode(v, off), `${rel}: ${tsName} at ${off}`);
          },
        ),
        { numRuns: codec.size > 4096 ? 3 : 40 },
      );
      checked++;
    }
  }
  assert.ok(checked >= 20, `checked ${checked} structs`);
});

test("src/tracker/process.gen.ts is what tsbpf gen writes for bpf/process.bpf.o", () => {
  const { bytes, spec } = read("bpf/process.bpf.o");
  const want = generateBindings(spec, bytes, { mode: "types" });
  const have = readFileSync(join(ROOT_DIR, "src", "tracker", "process.gen.ts"), "utf8");
  assert.ok(
    have === want,
    "src/tracker/process.gen.ts is stale: bpf/process.bpf.o changed. Run `npm run gen` (npm run build:bpf does it too) and commit the result",
  );
});

test("an object without BTF is refused with a reason", () => {
  const { bytes, spec } = read("test/fixtures/globals.bpf.o");
  assert.throws(
    () => generateBindings({ ...spec, btf: undefined }, bytes),
    (e: Error) => /no BTF.*clang -g/.test(e.message),
  );
});

test.run();
