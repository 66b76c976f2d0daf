// Text rendering of an ExplainReport: one block per load step, in load order, with
// every CO-RE record spelled out (local type and access path, candidates, chosen
// target, value, instruction before and after).
import type { ExplainReport } from "./explain.ts";

function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) {
    for (let i = 0; i < r.length; i++) widths[i] = Math.max(widths[i] ?? 0, (r[i] as string).length);
  }
  return rows.map((r) =>
    `  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ")}`.trimEnd(),
  );
}

export function renderExplainText(r: ExplainReport): string {
  const out: string[] = [];
  out.push(`object ${r.object}`, `target BTF ${r.target_btf}`);
  if (r.note) out.push(`note: ${r.note}`);

  out.push("", `ELF sections (${r.sections.length})`);
  out.push(...table(r.sections.map((s) => [`[${s.index}]`, s.name, s.type, `${s.size} bytes`, s.flags])));

  out.push("", `maps (${r.maps.length})`);
  out.push(
    ...table(
      r.maps.map((m) => [
        m.name,
        m.type,
        `key ${m.key_size}B value ${m.value_size}B max_entries ${m.max_entries}`,
        m.flags ? `flags 0x${m.flags.toString(16)}` : "",
        m.fd !== undefined ? `created (fd ${m.fd})` : m.section ? `from ${m.section}` : "",
      ]),
    ),
  );

  if (r.externs.length) {
    out.push("", `externs (${r.externs.length})`);
    out.push(...table(r.externs.map((e) => [e.kind, e.name + (e.weak ? " (weak)" : ""), e.value])));
  }

  out.push("", `relocations (${r.relocations.length})`);
  out.push(
    ...table(
      r.relocations.map((x) => [
        x.program,
        `insn ${x.insn}`,
        x.kind,
        x.target,
        x.before !== undefined ? `${x.before}  ->  ${x.after}` : (x.symbol ?? ""),
      ]),
    ),
  );

  out.push("", `CO-RE relocations (${r.core_relocations.length})`);
  for (const c of r.core_relocations) {
    const head = `  ${c.program} #${c.index}  insn ${c.insn}  ${c.kindName}${c.source ? `  (${c.source})` : ""}`;
    out.push(head);
    out.push(`    local       [${c.localTypeId}] ${c.localType}  access ${c.access.spec} = ${c.access.text}`);
    const cands = c.candidates
      .map((x) => `[${x.id}] ${x.name}${x.module ? ` (${x.module})` : ""}`)
      .join(", ");
    out.push(`    candidates  ${cands || (c.kindName === "local_type_id" ? "(not needed)" : "none")}`);
    out.push(
      `    chosen      ${c.chosen ? `[${c.chosen.id}] ${c.chosen.name}${c.access.target ? `  access ${c.access.target}` : ""}` : "none"}`,
    );
    out.push(`    value       ${c.value.local} -> ${c.poisoned ? "poisoned" : c.value.target}`);
    out.push(`    insn        ${c.insnBefore}  ->  ${c.insnAfter}${c.patch ? `   (${c.patch})` : ""}`);
    if (c.error) {
      out.push(
        c.poisoned
          ? `    poisoned    ${c.error} (fine if that code is dead; the verifier rejects it otherwise)`
          : `    error       ${c.error}`,
      );
    }
  }

  if (r.bpf_calls.length) {
    out.push("", `bpf() calls (${r.bpf_calls.length})`);
    for (const c of r.bpf_calls) {
      const attrs = Object.entries(c.attr)
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
        .join(" ");
      out.push(
        `  ${c.cmd.padEnd(22)} ${c.result < 0 || c.errno ? `-> ${c.errno ?? c.result}` : `-> ${c.result}`}  ${attrs}`,
      );
    }
  }

  out.push("", "programs");
  for (const p of r.programs) {
    let v: string = p.verdict;
    if (p.verdict === "accepted") {
      const s = p.stats ?? {};
      const bits = [`${p.insns} insns`];
      if (s.insnsProcessed !== undefined) bits.push(`${s.insnsProcessed} processed`);
      if (s.totalStates !== undefined) bits.push(`${s.totalStates} states (peak ${s.peakStates})`);
      if (s.verificationTimeUs !== undefined) bits.push(`${s.verificationTimeUs} us`);
      v = `accepted by the verifier: ${bits.join(", ")}`;
    } else if (p.verdict === "static") v = "not loaded (static explanation)";
    else if (p.verdict === "not_loaded") v = "not loaded (an earlier step failed)";
    else v = "REJECTED by the verifier";
    out.push(`  ${p.name} (${p.type}, SEC("${p.section}")): ${v}`);
    if (p.error) out.push(`    ${p.error.split("\n").join("\n    ")}`);
    if (p.log_tail?.length) out.push(...p.log_tail.map((l) => `    | ${l}`));
    if (p.attach) {
      out.push(`    attach: ${p.attach.how}`);
      if (p.attach.needs) out.push(`      needs ${p.attach.needs}`);
      if (p.attach.fallback) out.push(`      fallback: ${p.attach.fallback}`);
    }
  }
  if (r.error && !r.programs.some((p) => p.error === r.error)) out.push("", `load failed: ${r.error}`);
  if (r.loaded) out.push("", "everything was unloaded again (explain does not keep objects in the kernel)");
  return `${out.join("\n")}\n`;
}
