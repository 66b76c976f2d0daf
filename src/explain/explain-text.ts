// Text rendering of an ExplainReport: one block per load step, in load order, with
// every CO-RE record spelled out (local type and access path, candidates, chosen
// target, value, instruction before and after).
import { ACCESS_STRING_LEGEND, formatSteps } from "./access.ts";
import type { ExplainReport } from "./explain.ts";

/** Attr values shown as quoted strings (the rest are numbers or descriptions). */
const QUOTED = new Set(["license", "map_name", "prog_name", "name"]);

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
        x.before !== undefined
          ? `${x.before}  ->  ${x.after}${x.imm64 ? `  (= ${x.imm64})` : ""}`
          : (x.symbol ?? ""),
      ]),
    ),
  );
  if (r.relocations.some((x) => x.imm64)) {
    out.push(
      "  (= 0x...): ld_imm64 loads a 64-bit constant split over two instructions: the low 32 bits",
      "  in this insn's imm, the high 32 bits in the next one's. llvm-objdump syntax prints the",
      "  constant as a signed 64-bit number, so 0xffffffff81000000 reads -0x7f000000: the same bits.",
    );
  }

  out.push("", `CO-RE relocations (${r.core_relocations.length})`);
  if (r.core_relocations.some((c) => c.access.steps && c.kind !== "local_type_id"))
    out.push(...ACCESS_STRING_LEGEND.map((l) => `  ${l}`), "");
  for (const c of r.core_relocations) {
    const head = `  ${c.program} #${c.index}  insn ${c.insn}  ${c.kind}${c.source ? `  (${c.source})` : ""}`;
    out.push(head);
    const local = c.access.steps ? `  ${formatSteps(c.access.steps)}` : "";
    out.push(
      `    local       [${c.localTypeId}] ${c.localType}  access ${c.access.spec}${local} = ${c.access.text}`,
    );
    const cands = c.candidates
      .map((x) => `[${x.id}] ${x.name}${x.module ? ` (${x.module})` : ""}`)
      .join(", ");
    out.push(`    candidates  ${cands || (c.kind === "local_type_id" ? "(not needed)" : "none")}`);
    const target = c.access.target
      ? `  access ${c.access.target}${c.access.target_steps ? `  ${formatSteps(c.access.target_steps)}` : ""}`
      : "";
    out.push(`    chosen      ${c.chosen ? `[${c.chosen.id}] ${c.chosen.name}${target}` : "none"}`);
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
    const probes = r.bpf_calls.filter((c) => c.probe).length;
    out.push(
      "",
      `bpf() calls (${r.bpf_calls.length}${probes ? `: ${probes} feature probes, marked "probe", then the object's own` : ""})`,
    );
    for (const c of r.bpf_calls) {
      const attrs = Object.entries(c.attr)
        .map(([k, v]) => `${k}=${QUOTED.has(k) || typeof v !== "string" ? JSON.stringify(v) : v}`)
        .join(" ");
      const who = c.probe
        ? `  [probe ${c.probe.name}: ${c.probe.supported ? "supported" : "not supported"}]`
        : c.program && c.program !== c.attr.prog_name
          ? `  [program ${c.program}]`
          : "";
      out.push(
        `  ${c.cmd.padEnd(22)} ${c.result < 0 || c.errno ? `-> ${c.errno ?? c.result}` : `-> ${c.result}`}${who}  ${attrs}`,
      );
    }
  }

  out.push("", "programs");
  for (const p of r.programs) {
    let v: string;
    if (p.verdict === "accepted") {
      const s = p.stats ?? {};
      const bits = [`${p.insns} insns`];
      if (s.insnsProcessed !== undefined) bits.push(`${s.insnsProcessed} processed`);
      if (s.totalStates !== undefined) bits.push(`${s.totalStates} states (peak ${s.peakStates})`);
      if (s.verificationTimeUs !== undefined) bits.push(`${s.verificationTimeUs} us`);
      v = `accepted by the verifier: ${bits.join(", ")}`;
    } else if (p.verdict === "static") v = "not loaded (static explanation)";
    else if (p.verdict === "skipped") v = "skipped";
    else if (p.verdict === "failed") v = "FAILED before the verifier";
    else v = "REJECTED by the verifier";
    out.push(`  ${p.name} (${p.type}, SEC("${p.section}")): ${v}`);
    // Every skipped program shares the load's error: it is printed once, at the end.
    const reason =
      p.verdict === "skipped" && r.error && p.reason?.includes(r.error.split("\n")[0] as string)
        ? "not tried: the load stopped before this program (why: 'load failed' below)"
        : p.reason;
    if (reason) out.push(`    ${reason.split("\n").join("\n    ")}`);
    if (p.verifier_log !== undefined) {
      const lines = p.verifier_log.split("\n").filter((l) => l.trim() !== "");
      out.push(`    verifier log (log_level ${r.verifier_log_level ?? 1}, ${lines.length} lines):`);
      out.push(...lines.map((l) => `    | ${l}`));
    } else if (p.log_tail?.length) {
      out.push(`    verifier log (last ${p.log_tail.length} lines; --verifier-log shows all):`);
      out.push(...p.log_tail.map((l) => `    | ${l}`));
    }
    if (p.attach) {
      out.push(`    attach: ${p.attach.how}`);
      if (p.attach.needs) out.push(`      needs ${p.attach.needs}`);
      if (p.attach.fallback) out.push(`      fallback: ${p.attach.fallback}`);
    }
  }
  if (r.error) out.push("", `load failed: ${r.error}`);
  if (r.loaded) out.push("", "everything was unloaded again (explain does not keep objects in the kernel)");
  return `${out.join("\n")}\n`;
}
