// A StructLayout as text, in pahole's format so that readers who know pahole can read it
// and the two can be compared line by line: `/* offset size */` after each member,
// `/* offset: bit size */` for a bitfield, "XXX N bytes hole" lines, cache line
// boundaries, and the size/holes/padding summary at the end.
import { CACHELINE, type StructLayout } from "./struct-layout.ts";

/** Width of the declaration column before the offset comment (pahole's is about the same). */
const DECL_WIDTH = 48;

function where(offset: number, size: number, bitfield?: { bitOffset: number }): string {
  if (bitfield)
    return `/* ${String(offset).padStart(5)}:${String(bitfield.bitOffset).padStart(2)} ${String(size).padStart(2)} */`;
  return `/* ${String(offset).padStart(5)} ${String(size).padStart(5)} */`;
}

function line(indent: number, text: string, comment: string): string {
  const head = `${"\t".repeat(indent)}${text}`;
  // Tabs count as 8 columns, as a terminal shows them.
  const cols = indent * 8 + text.length;
  return `${head}${" ".repeat(Math.max(1, DECL_WIDTH - cols))}${comment}`;
}

function body(l: StructLayout, indent: number, out: string[], state: { line: number }): void {
  for (const m of l.members) {
    if (m.holeBefore) {
      const { bytes, bits } = m.holeBefore;
      out.push("");
      if (bits)
        out.push(`${"\t".repeat(indent)}/* XXX ${bits} bit${bits === 1 ? "" : "s"} hole, try to pack */`);
      if (bytes)
        out.push(`${"\t".repeat(indent)}/* XXX ${bytes} byte${bytes === 1 ? "" : "s"} hole, try to pack */`);
      out.push("");
    }
    const boundary = Math.floor(m.offset / CACHELINE);
    if (boundary > state.line) {
      state.line = boundary;
      const ago = m.offset - boundary * CACHELINE;
      out.push(
        `${"\t".repeat(indent)}/* --- cacheline ${boundary} boundary (${boundary * CACHELINE} bytes)${ago ? ` was ${ago} bytes ago` : ""} --- */`,
      );
    }
    if (m.nested) {
      out.push(`${"\t".repeat(indent)}${m.nested.kind} {`);
      body(m.nested, indent + 1, out, state);
      out.push(line(indent, `}${m.name ? ` ${m.name}` : ""};`, where(m.offset, m.size)));
      continue;
    }
    const decl = m.bitfield ? `${m.decl}:${m.bitfield.bits};` : `${m.decl};`;
    out.push(line(indent, decl, where(m.offset, m.size, m.bitfield)));
  }
}

/** pahole-style text of one struct or union. */
export function renderStructLayout(l: StructLayout): string {
  const out: string[] = [`${l.kind} ${l.name || "(anonymous)"} {`];
  body(l, 1, out, { line: 0 });
  const t = l.totals;
  out.push("");
  out.push(`\t/* size: ${l.size}, cachelines: ${Math.ceil(l.size / CACHELINE)}, members: ${t.members} */`);
  if (l.kind === "struct" && (t.holes || t.bitHoles)) {
    out.push(`\t/* sum members: ${t.sumMembers}, holes: ${t.holes}, sum holes: ${t.sumHoles} */`);
    if (t.bitfieldBits)
      out.push(
        `\t/* sum bitfield members: ${t.bitfieldBits} bits, bit holes: ${t.bitHoles}, sum bit holes: ${t.sumBitHoles} bits */`,
      );
  }
  if (l.padding) out.push(`\t/* padding: ${l.padding} */`);
  if (l.size % CACHELINE) out.push(`\t/* last cacheline: ${l.size % CACHELINE} bytes */`);
  out.push("};");
  return out.join("\n");
}
