// The candidate index (src/core/candidates.ts) against the definition it speeds up:
// every target type whose essential name equals the local one and whose kind is
// CO-RE compatible (libbpf bpf_core_add_cands). Names come from a tiny alphabet so
// shared key prefixes, "___" flavours, "____" non-separators and long names sharing
// their first bytes all turn up.
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Btf } from "../../src/btf/btf.ts";
import { findCandidates } from "../../src/core/candidates.ts";
import { kindsCoreCompat } from "../../src/core/compat.ts";
import { essentialName } from "../../src/core/names.ts";
import { BtfBuilder } from "./btf-builder.ts";

const nameArb = fc
  .array(fc.constantFrom("a", "b", "_", "___", "abcdefgh", "é"), { minLength: 1, maxLength: 8 })
  .map((parts) => parts.join(""));

/** The definition, by brute force over every type. */
function expected(local: Btf, localId: number, target: Btf): number[] {
  const ess = essentialName(local.nameOf(localId));
  const out: number[] = [];
  for (let id = 1; id < target.length; id++) {
    const name = target.nameOf(id);
    if (name === "" || essentialName(name) !== ess) continue;
    if (kindsCoreCompat(local.kind(localId), target.kind(id))) out.push(id);
  }
  return out;
}

test("candidates are exactly the same-essential-name, compatible-kind types", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(nameArb, fc.constantFrom("struct", "union", "enum", "typedef")), {
        minLength: 1,
        maxLength: 40,
      }),
      fc.array(fc.tuple(nameArb, fc.constantFrom("struct", "enum")), { minLength: 1, maxLength: 10 }),
      (targetTypes, localTypes) => {
        const tb = new BtfBuilder();
        const ti = tb.int("int", 4, true);
        for (const [name, kind] of targetTypes) {
          if (kind === "enum") tb.enum(name, [["V", 1]]);
          else if (kind === "typedef") tb.typedef(name, ti);
          else tb.struct(name, 4, [["a", ti, 0]], kind);
        }
        const target = tb.build("t");
        const targets = { vmlinux: target, modules: [] };
        // One target, several lookups: the index is built once and reused.
        for (const [name, kind] of localTypes) {
          const lb = new BtfBuilder();
          const li = lb.int("int", 4, true);
          const id = kind === "enum" ? lb.enum(name, [["V", 1]]) : lb.struct(name, 4, [["a", li, 0]]);
          const local = lb.build("l");
          const got = findCandidates(local, id, targets).map((c) => c.id);
          assert.equal(got, expected(local, id, target), name);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test.run();
