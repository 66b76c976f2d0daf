// Fuzz: mutated and truncated copies of the committed objects must read into a
// CollectionSpec or fail with a typed TsbpfError (ElfError, BtfError), quickly and
// without huge allocations. Anything else (RangeError, TypeError, a hang) is a bug.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { BtfError } from "../../src/btf/errors.ts";
import { readCollectionSpec } from "../../src/elf/collection.ts";
import { describeCollection } from "../../src/elf/describe.ts";
import { renderDisasm, renderObjectText } from "../../src/elf/describe-text.ts";
import { findSection, parseElf } from "../../src/elf/elf.ts";
import { ElfError } from "../../src/elf/errors.ts";
import { committedObjects } from "./objects.ts";

const objects = committedObjects().map((p) => new Uint8Array(readFileSync(p)));
const RUNS = 6000;
const PER_CASE_MS = 2000;

// Values that tend to break length/offset arithmetic.
const nasty = fc.constantFrom(0, 1, 7, 8, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff);

const mutation = fc.oneof(
  // Random byte writes anywhere.
  fc.record({
    kind: fc.constant("bytes" as const),
    at: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
  }),
  // 32-bit "nasty" values at 4-aligned offsets (headers, lengths, offsets, type ids).
  fc.record({
    kind: fc.constant("u32" as const),
    at: fc.array(fc.tuple(fc.nat(), nasty), { minLength: 1, maxLength: 4 }),
  }),
  // Truncation.
  fc.record({
    kind: fc.constant("cut" as const),
    at: fc.array(fc.tuple(fc.nat(), fc.constant(0)), { minLength: 1, maxLength: 1 }),
  }),
);

function mutate(src: Uint8Array, m: { kind: "bytes" | "u32" | "cut"; at: [number, number][] }): Uint8Array {
  if (m.kind === "cut") return src.slice(0, (m.at[0]?.[0] ?? 0) % src.length);
  const b = src.slice();
  const dv = new DataView(b.buffer);
  for (const [pos, v] of m.at) {
    if (m.kind === "bytes") b[pos % b.length] = v;
    else dv.setUint32(((pos % (b.length >> 2)) << 2) >>> 0, v >>> 0, true);
  }
  return b;
}

test(`${RUNS} mutated objects end in a CollectionSpec or a typed error`, () => {
  const counts = { ok: 0, elf: 0, btf: 0 };
  let slowest = 0;
  const heapBefore = process.memoryUsage().heapUsed;
  fc.assert(
    fc.property(fc.nat({ max: objects.length - 1 }), mutation, (which, m) => {
      const bytes = mutate(objects[which] as Uint8Array, m);
      const t0 = performance.now();
      try {
        const c = readCollectionSpec(bytes, "fuzz.o");
        // BTF types are decoded lazily: touch them all so late errors are caught here too.
        c.btf?.parseAll();
        // What `tsbpf inspect --disasm` does with the spec must not raw-throw either.
        renderObjectText(describeCollection(c));
        renderDisasm(c);
        counts.ok++;
      } catch (e) {
        if (e instanceof ElfError) counts.elf++;
        else if (e instanceof BtfError) counts.btf++;
        else throw e;
      }
      const dt = performance.now() - t0;
      slowest = Math.max(slowest, dt);
      if (dt > PER_CASE_MS) throw new Error(`case took ${dt.toFixed(0)} ms`);
    }),
    { numRuns: RUNS },
  );
  console.log(
    `  fuzz: ${counts.ok} specs, ${counts.elf} ElfError, ${counts.btf} BtfError; slowest ${slowest.toFixed(1)} ms`,
  );
  assert.is(counts.ok + counts.elf + counts.btf, RUNS);
  // Some cases must be rejected and some must survive, or the mutations test nothing.
  assert.ok(counts.elf > 0 && counts.ok > 0);
  assert.ok(process.memoryUsage().heapUsed - heapBefore < 512 * 1024 * 1024, "heap growth bounded");
});

// Counterexamples fast-check found in CI runs, kept so they are checked every run.
/**
 * File offset of the `size` field of the INT a kconfig extern of `obj` is declared
 * with (`__u32 LINUX_KERNEL_VERSION`: VAR → typedef → INT). Found through the BTF, not
 * at a fixed position, so the case survives a rebuild of the object.
 */
function kconfigIntSizeOffset(obj: Uint8Array): number {
  const spec = readCollectionSpec(obj, "core.bpf.o");
  const btf = spec.btf;
  const ext = spec.externs.find((e) => e.kind === "kconfig" && e.name === "LINUX_KERNEL_VERSION");
  assert.ok(btf && ext, "core.bpf.o has BTF and the kconfig extern LINUX_KERNEL_VERSION");
  let id = (btf.type(ext.btfId) as { type: number }).type;
  while (btf.type(id).kind !== "int") id = (btf.type(id) as { type: number }).type;
  const section = findSection(parseElf(obj, "core.bpf.o"), ".BTF");
  assert.ok(section, "core.bpf.o has a .BTF section");
  // struct btf_type: name_off, info, then size (for BTF_KIND_INT) — linux/btf.h.
  return section.offset + btf.offsetOf(id) + 8;
}

// Counterexamples fast-check found in CI runs, kept so they are checked every run.
test("found by fuzzing: a kconfig extern whose BTF size is 2 GiB is an ElfError, not a RangeError", () => {
  const i = committedObjects().findIndex((p) => p.endsWith("/core.bpf.o"));
  assert.ok(i >= 0, "test/fixtures/core.bpf.o is committed");
  const obj = objects[i] as Uint8Array;
  const bytes = obj.slice();
  new DataView(bytes.buffer).setUint32(kconfigIntSizeOffset(obj), 0x80000000, true);
  try {
    readCollectionSpec(bytes, "fuzz.o");
    assert.unreachable("the damaged object was accepted");
  } catch (e) {
    assert.instance(e, ElfError);
    assert.match((e as Error).message, /kconfig extern '.*' is \d+ bytes/);
  }
});

test.run();
