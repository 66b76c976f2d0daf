// The side panel: the summary of the whole trace and the details of one process. Built
// with createElement and textContent only (argv, env, comm and paths are attacker-chosen).
import type { ProcessRec } from "../model.ts";
import { COLORS, label, OUTCOME_TEXT } from "./draw.ts";
import { fmtDur, visible } from "./format.ts";
import type { ViewState } from "./state.ts";

type Child = Node | string;

export function el(tag: string, attrs: Record<string, string> = {}, ...kids: Child[]): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const k of kids) e.append(typeof k === "string" ? document.createTextNode(k) : k);
  return e;
}

const LIST_MAX = 100;

/** A clickable process line: `onPick(i)` selects it. */
function procLink(s: ViewState, i: number, extra: string, onPick: (i: number) => void): HTMLElement {
  return el("li", {}, procAnchor(s, i, onPick), el("span", { class: "muted" }, ` ${extra}`));
}

function procAnchor(s: ViewState, i: number, onPick: (i: number) => void): HTMLElement {
  const p = s.procs[i] as ProcessRec;
  const sw = el("span", { class: "sw" });
  sw.style.background = COLORS[p.outcome];
  const a = el("a", { href: "#", "data-proc": String(i) }, sw, visible(label(s, i)));
  a.addEventListener("click", (ev) => {
    ev.preventDefault();
    onPick(i);
  });
  return a;
}

function section(title: string, ...kids: Child[]): HTMLElement {
  return el("section", {}, el("h3", {}, title), ...kids);
}

function kv(rows: [string, Child][]): HTMLElement {
  const t = el("table", { class: "kv" });
  for (const [k, v] of rows) t.append(el("tr", {}, el("th", {}, k), el("td", {}, v)));
  return t;
}

export function renderSummary(s: ViewState, root: HTMLElement, onPick: (i: number) => void): void {
  const { summary: sum, trace } = s.data;
  const dur = (i: number) => (s.end[i] as number) - (s.procs[i] as ProcessRec).start;
  root.replaceChildren();
  const counts: [string, Child][] = [
    ["duration", fmtDur(trace.duration)],
    ["processes", String(sum.processes)],
    ["execs", String(sum.execs)],
    ["failed execs", String(sum.execFailed)],
    ["threads created", String(sum.threads)],
    ["exit 0", String(sum.outcomes.ok)],
    ["non-zero exit", String(sum.outcomes.fail)],
    ["killed by signal", String(sum.outcomes.signal)],
    ["core dumped", String(sum.outcomes.core)],
    ["still running", String(sum.outcomes.running)],
  ];
  for (const [sev, n] of Object.entries(sum.alertsBySeverity))
    counts.push([`alerts (${visible(sev)})`, String(n)]);
  for (const [kind, n] of Object.entries(sum.lostByKind)) counts.push([`lost ${visible(kind)}`, String(n)]);
  root.append(section("Summary", kv(counts)));

  const crit = el("ol", { class: "procs", id: "critical-path" });
  const base = sum.critical.length ? (s.depth[sum.critical[0] as number] as number) : 0;
  for (const i of sum.critical.slice(0, LIST_MAX)) {
    const li = procLink(s, i, fmtDur(dur(i)), onPick);
    li.style.paddingLeft = `${Math.min((s.depth[i] as number) - base, 12) * 10}px`;
    crit.append(li);
  }
  if (sum.critical.length > LIST_MAX)
    crit.append(el("li", { class: "muted" }, `… ${sum.critical.length - LIST_MAX} more`));
  root.append(
    section(
      "Critical path",
      el("p", { class: "muted" }, `what the total ${fmtDur(sum.criticalSpan)} waited on, in order`),
      crit,
    ),
  );

  const slow = el("ol", { class: "procs", id: "slowest" });
  for (const i of sum.slowest) slow.append(procLink(s, i, fmtDur(dur(i)), onPick));
  root.append(section("Slowest", slow));

  const failed = el("ol", { class: "procs", id: "failed" });
  for (const i of sum.failed.slice(0, LIST_MAX))
    failed.append(procLink(s, i, outcomeText(s.procs[i]!), onPick));
  const more =
    sum.failed.length > LIST_MAX
      ? [el("p", { class: "muted" }, `… ${sum.failed.length - LIST_MAX} more`)]
      : [];
  root.append(section(`Failed (${sum.failed.length})`, failed, ...more));

  if (trace.alerts.length) {
    const al = el("ol", { class: "procs", id: "alerts" });
    for (const a of trace.alerts.slice(0, LIST_MAX)) {
      if (a.proc >= 0) al.append(procLink(s, a.proc, `${visible(a.severity)}: ${visible(a.rule)}`, onPick));
      else al.append(el("li", {}, `${visible(a.severity)}: ${visible(a.rule)}`));
    }
    root.append(section(`Alerts (${trace.alerts.length})`, al));
  }
}

export function outcomeText(p: ProcessRec): string {
  if (p.outcome === "fail") return `exit ${p.exitCode}`;
  if (p.outcome === "signal" || p.outcome === "core")
    return `${visible(p.signalName ?? "signal")}${p.outcome === "core" ? " (core dumped)" : ""}`;
  return OUTCOME_TEXT[p.outcome];
}

/** A value of an event field as text: strings made visible, arrays one item per line. */
function valueNode(v: unknown): Child {
  if (Array.isArray(v)) {
    const ol = el("ol", { class: "argv", start: "0" });
    for (const x of v) ol.append(el("li", {}, typeof x === "string" ? visible(x) : JSON.stringify(x)));
    return ol;
  }
  if (typeof v === "string") return visible(v);
  return JSON.stringify(v) ?? "";
}

export function renderDetails(s: ViewState, root: HTMLElement, i: number, onPick: (i: number) => void): void {
  root.replaceChildren();
  const p = s.procs[i];
  if (!p) {
    root.append(el("p", { class: "muted" }, "Click a bar for its details."));
    return;
  }
  const end = s.end[i] as number;
  const parent = p.parent >= 0 ? procAnchor(s, p.parent, onPick) : el("span", {}, visible(p.parentId) || "—");
  const rows: [string, Child][] = [
    ["outcome", outcomeText(p)],
    ["exec_id", visible(p.id)],
    ["parent", parent],
    [
      "start",
      `+${fmtDur(p.start)} (${p.startFrom === "fork" ? "fork" : p.start < 0 ? "before the trace" : p.startFrom})`,
    ],
    ["end", p.end === null ? "still running at the end of the trace" : `+${fmtDur(end)}`],
    ["lifetime", fmtDur(end - p.start)],
    ["filename", visible(p.filename)],
    ["children", String((s.children[i] as number[]).length)],
  ];
  if (p.threads) rows.push(["threads created", String(p.threads)]);
  for (const [k, v] of Object.entries(p.ident)) if (k !== "exec_id") rows.push([k, valueNode(v)]);
  const title = el("h3", { id: "detail-title" }, visible(label(s, i)));
  const argv = el("ol", { class: "argv", id: "detail-argv", start: "0" });
  for (const a of p.argv) argv.append(el("li", {}, visible(a)));
  root.append(title, kv(rows), el("h4", {}, "argv"), argv);
  for (const e of p.events) {
    const fields: [string, Child][] = [];
    for (const [k, v] of Object.entries(e)) if (k !== "event" && k !== "t") fields.push([k, valueNode(v)]);
    const head = `${visible(String(e.event))} at +${fmtDur(e.t as number)}`;
    const det = el("details", { class: "event" }, el("summary", {}, head), kv(fields));
    if (e.event !== "exec" || p.events.length < 4) det.setAttribute("open", "");
    root.append(det);
  }
}
