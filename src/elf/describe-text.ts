// Human-readable rendering of an object description for `tsbpf inspect`, and the
// annotated disassembly for `--disasm`. Every name that comes from the file goes
// through `safe()`: a hostile object must not be able to send escape sequences to
// the user's terminal.
import { disassemble } from "../asm/disasm.ts";
import { BPF_CORE_KIND_NAMES } from "../btf/ext.ts";
import type { CollectionSpec, FunctionSpec, RelocationSpec } from "../spec.ts";
import { type BtfDesc, coreText, type ObjectDesc } from "./describe.ts";

/** Escapes control, format and non-printable characters as \xNN / \u{...}. */
export function safe(s: string): string {
  return s.replace(/[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}\\]/gu, (ch) => {
    if (ch === "\\") return "\\\\";
    const cp = ch.codePointAt(0) as number;
    return cp < 0x100 ? `\\x${cp.toString(16).padStart(2, "0")}` : `\\u{${cp.toString(16)}}`;
  });
}

function table(rows: string[][], indent = "  "): string[] {
  const widths: number[] = [];
  for (const r of rows) {
    for (const [i, c] of r.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length);
  }
  return rows.map(
    (r) =>
      indent +
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
  );
}

const hex = (n: number) => `0x${n.toString(16)}`;

export function renderBtfText(file: string, b: BtfDesc): string {
  const lines = [`${safe(file)}: raw BTF, ${b.types} types`, "", "Kinds:"];
  lines.push(...table(Object.entries(b.kinds).map(([k, n]) => [k.toUpperCase(), String(n)])));
  return lines.join("\n");
}

export function renderObjectText(d: ObjectDesc): string {
  const out: string[] = [];
  out.push(`${safe(d.file)}: BPF object`);
  out.push(`License: ${safe(d.license) || "(none)"}`);
  if (d.kernel_version) out.push(`Kernel version: ${hex(d.kernel_version)}`);
  if (d.btf) {
    const kinds = Object.entries(d.btf.kinds)
      .map(([k, n]) => `${n} ${k}`)
      .join(", ");
    out.push(`BTF: ${d.btf.types} types (${kinds})`);
  } else out.push("BTF: none");
  if (d.btf_ext)
    out.push(
      `BTF.ext: ${d.btf_ext.func_info} func_info, ${d.btf_ext.line_info} line_info, ${d.btf_ext.core_relos} CO-RE records`,
    );

  out.push("", `Programs (${d.programs.length}):`);
  out.push(
    ...table([
      ["NAME", "SECTION", "TYPE", "ATTACH", "TARGET", "INSNS"],
      ...d.programs.map((p) => [
        safe(p.name),
        safe(p.section),
        p.type + (p.sleepable ? " (sleepable)" : ""),
        p.attach,
        safe(p.attach_to) || "-",
        String(p.insns),
      ]),
    ]),
  );
  const subs = d.functions.filter((f) => !f.program);
  if (subs.length) {
    out.push("", `Subprograms (${subs.length}):`);
    out.push(
      ...table([
        ["NAME", "SECTION", "OFFSET", "INSNS", "BINDING"],
        ...subs.map((f) => [
          safe(f.name),
          safe(f.section),
          hex(f.offset),
          String(f.insns),
          f.global ? "global" : "static",
        ]),
      ]),
    );
  }
  out.push("", `Maps (${d.maps.length}):`);
  if (d.maps.length) {
    out.push(
      ...table([
        ["NAME", "TYPE", "KEY", "VALUE", "MAX_ENTRIES", "FLAGS", "NOTES"],
        ...d.maps.map((m) => {
          const notes: string[] = [];
          if (m.section) notes.push(`section ${safe(m.section)}`);
          if (m.inner)
            notes.push(
              `inner ${m.inner.type} key ${m.inner.key_size} value ${m.inner.value_size} max ${m.inner.max_entries}`,
            );
          if (m.initial_slots?.length)
            notes.push(`slots ${m.initial_slots.map((s) => `[${s.index}]=${safe(s.name)}`).join(" ")}`);
          if (m.pinning !== "none") notes.push(`pinned ${m.pinning}`);
          return [
            safe(m.name),
            m.type,
            String(m.key_size),
            String(m.value_size),
            String(m.max_entries),
            hex(m.flags),
            notes.join("; "),
          ];
        }),
      ]),
    );
  }
  if (d.globals.length) {
    out.push("", "Globals:");
    out.push(
      ...table([
        ["SECTION", "OFFSET", "SIZE", "NAME", "TYPE"],
        ...d.globals.map((g) => [
          safe(g.section),
          String(g.offset),
          String(g.size),
          safe(g.name),
          safe(g.type),
        ]),
      ]),
    );
  }
  if (d.externs.length) {
    out.push("", "Externs:");
    out.push(
      ...table(
        d.externs.map((e) => [
          safe(e.name),
          e.kind,
          e.kind === "kconfig" ? `offset ${e.offset} size ${e.size}` : "",
          e.weak ? "weak" : "",
        ]),
      ),
    );
  }
  if (d.relocations.length) {
    out.push("", `Relocations (${d.relocations.length}):`);
    for (const r of d.relocations) {
      const what = r.kind === "data" ? `${safe(r.target)}+${r.offset} (${safe(r.symbol)})` : safe(r.target);
      out.push(`  ${safe(r.function)} insn ${r.insn} → ${r.kind} ${what}`);
    }
  }
  if (d.core_relocations.length) {
    out.push("", `CO-RE relocations (${d.core_relocations.length}):`);
    for (const r of d.core_relocations)
      out.push(`  ${safe(r.program)} insn ${r.insn}: ${r.kind} ${safe(r.access)}`);
  }
  return out.join("\n");
}

function relocNote(c: CollectionSpec, r: RelocationSpec): string {
  switch (r.kind) {
    case "map":
      return `map ${r.map}`;
    case "data":
      return `${r.map}+${r.offset} (${r.symbol})`;
    case "call":
    case "func":
      return c.functions.get(r.target)?.name ?? r.target;
    case "extern":
      return `extern ${r.name}`;
  }
}

/** Disassembly of every function, with relocation targets, CO-RE records and source lines. */
export function renderDisasm(c: CollectionSpec): string {
  const out: string[] = [];
  const fns = [...c.functions.values()].sort((a, b) =>
    a.section === b.section ? a.offset - b.offset : a.section < b.section ? -1 : 1,
  );
  const programs = new Set(c.programs.map((p) => p.key));
  for (const f of fns) out.push("", ...disasmFunction(c, f, programs.has(f.key)));
  return out.join("\n");
}

function disasmFunction(c: CollectionSpec, f: FunctionSpec, isProgram: boolean): string[] {
  const notes = new Map<number, string>();
  for (const r of f.relocations) notes.set(r.insn, safe(relocNote(c, r)));
  for (const r of f.coreRelos) {
    const t = coreText(c.btf, r.typeId, r.accessStr);
    const s = `CO-RE ${BPF_CORE_KIND_NAMES[r.kind] ?? r.kind} ${safe(t.access)}`;
    notes.set(r.insn, notes.has(r.insn) ? `${notes.get(r.insn)}; ${s}` : s);
  }
  const lines = new Map(f.lineInfo.map((l) => [l.insn, l]));
  const head = `${safe(f.name)} (${isProgram ? "program" : "subprogram"}, section ${safe(f.section)}, ${f.insns.length / 8} insns):`;
  const out = [head];
  let lastLine = "";
  for (const l of disassemble(f.insns, { helperNames: true, annotate: (slot) => notes.get(slot) })) {
    const li = lines.get(l.slot);
    if (li) {
      const src = `; ${safe(li.line.trim())}`;
      const where = `${safe(li.fileName.slice(li.fileName.lastIndexOf("/") + 1))}:${li.lineNumber}`;
      const text = `${src} [${where}]`;
      if (text !== lastLine) out.push(`    ${text}`);
      lastLine = text;
    }
    out.push(`  ${String(l.slot).padStart(5)}: ${safe(l.text)}`);
  }
  return out;
}
