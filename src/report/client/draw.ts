// Canvas drawing: only the rows in the scroll viewport are drawn, so the cost of a frame
// does not depend on how many processes the trace holds.
import type { Outcome } from "../model.ts";
import { basename, fmtTick, tickStep } from "./format.ts";
import type { ViewState } from "./state.ts";

export const ROW_H = 18;
export const AXIS_H = 30;
export const LABEL_W = 280;
const INDENT = 12;

export const COLORS: Record<Outcome, string> = {
  ok: "#3a9b5c",
  fail: "#e08a1e",
  signal: "#d1393b",
  core: "#7e3fb0",
  running: "#8fa3b8",
};

export const OUTCOME_TEXT: Record<Outcome, string> = {
  ok: "exit 0",
  fail: "non-zero exit",
  signal: "killed by a signal",
  core: "core dumped",
  running: "still running",
};

/** One bar as drawn in the last frame (CSS pixels, relative to the canvas). */
export interface DrawnBar {
  proc: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Surface {
  ctx: CanvasRenderingContext2D;
  width: number;
  height: number;
  scrollTop: number;
}

export function xOf(s: ViewState, width: number, t: number): number {
  return LABEL_W + ((t - s.from) / (s.to - s.from)) * (width - LABEL_W);
}

export function tOf(s: ViewState, width: number, x: number): number {
  return s.from + ((x - LABEL_W) / (width - LABEL_W)) * (s.to - s.from);
}

export function label(s: ViewState, i: number): string {
  const p = s.procs[i];
  if (!p) return "";
  const name = p.argv[0] ? basename(p.argv[0]) : p.comm || basename(p.filename) || "?";
  return `${name} ${p.pid}`;
}

export function drawRows(s: ViewState, g: Surface): DrawnBar[] {
  const { ctx, width, height, scrollTop } = g;
  const bars: DrawnBar[] = [];
  ctx.clearRect(0, 0, width, height);
  ctx.font = "12px system-ui, sans-serif";
  ctx.textBaseline = "middle";
  const first = Math.max(0, Math.floor(scrollTop / ROW_H));
  const last = Math.min(s.rows.length, Math.ceil((scrollTop + height) / ROW_H));
  for (let r = first; r < last; r++) {
    const i = s.rows[r] as number;
    const p = s.procs[i];
    if (!p) continue;
    const y = r * ROW_H - scrollTop;
    ctx.fillStyle = i === s.selected ? "#cfe3ff" : s.match[i] ? "#fff3b0" : r % 2 ? "#f6f7f9" : "#ffffff";
    ctx.fillRect(0, y, width, ROW_H);
    if (i === s.hover && i !== s.selected) {
      ctx.fillStyle = "rgba(0,0,0,0.04)";
      ctx.fillRect(0, y, width, ROW_H);
    }
    // Label column: tree indentation, a toggle when there are children.
    const indent = 4 + (s.depth[i] as number) * INDENT;
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, y, LABEL_W - 4, ROW_H);
    ctx.clip();
    ctx.fillStyle = "#444";
    if ((s.children[i] as number[]).length) ctx.fillText(s.collapsed[i] ? "▸" : "▾", indent, y + ROW_H / 2);
    if (s.collapsed[i] && s.matchBelow[i] && !s.match[i]) {
      ctx.fillStyle = "#e6b800";
      ctx.fillRect(indent - 3, y + 3, 2, ROW_H - 6);
    }
    ctx.fillStyle = s.critical[i] ? "#000" : "#222";
    ctx.font = s.critical[i] ? "bold 12px system-ui, sans-serif" : "12px system-ui, sans-serif";
    const n = (s.children[i] as number[]).length;
    const text = s.collapsed[i] ? `${label(s, i)}  (+${n})` : label(s, i);
    // fillText draws text, never markup: argv cannot inject anything here.
    ctx.fillText(text, indent + 12, y + ROW_H / 2);
    ctx.restore();
    // The bar.
    const x0 = Math.max(xOf(s, width, p.start), LABEL_W);
    const x1 = Math.min(xOf(s, width, s.end[i] as number), width);
    if (x1 < LABEL_W || x0 > width) continue;
    const bw = Math.max(x1 - x0, 1);
    const by = y + 3;
    const bh = ROW_H - 6;
    ctx.fillStyle = COLORS[p.outcome];
    ctx.fillRect(x0, by, bw, bh);
    if (p.outcome === "running") {
      ctx.fillStyle = "rgba(255,255,255,0.45)";
      for (let x = x0 - (x0 % 8); x < x0 + bw; x += 8) ctx.fillRect(Math.max(x, x0), by, 3, bh);
    }
    if (s.critical[i]) {
      ctx.strokeStyle = "#111";
      ctx.lineWidth = 1.5;
      ctx.strokeRect(x0 + 0.75, by + 0.75, Math.max(bw - 1.5, 0.5), bh - 1.5);
    }
    if (s.match[i]) {
      ctx.strokeStyle = "#e6b800";
      ctx.lineWidth = 2;
      ctx.strokeRect(x0 - 1, by - 1, bw + 2, bh + 2);
    }
    // Exec boundaries: a new image starts here.
    ctx.fillStyle = "#ffffff";
    for (const t of p.execs) {
      const x = xOf(s, width, t);
      if (x > x0 + 1.5 && x < x0 + bw - 1) ctx.fillRect(x - 0.5, by, 1.5, bh);
    }
    ctx.fillStyle = "#b00020";
    for (const t of p.failedExecs) {
      const x = xOf(s, width, t);
      if (x >= LABEL_W && x <= width) ctx.fillRect(x - 1, by - 2, 2, bh + 4);
    }
    for (const a of p.alerts) {
      const t = s.data.trace.alerts[a]?.t ?? 0;
      const x = xOf(s, width, t);
      if (x < LABEL_W || x > width) continue;
      ctx.beginPath();
      ctx.moveTo(x, by - 2);
      ctx.lineTo(x + 4, by + bh / 2);
      ctx.lineTo(x, by + bh + 2);
      ctx.lineTo(x - 4, by + bh / 2);
      ctx.closePath();
      ctx.fill();
    }
    bars.push({ proc: i, x: x0, y: by, w: bw, h: bh });
  }
  ctx.fillStyle = "#d0d4da";
  ctx.fillRect(LABEL_W - 2, 0, 1, height);
  return bars;
}

/** The time axis with alert (red) and lost-event (orange) markers. */
export interface Marker {
  x: number;
  kind: "alert" | "lost";
  index: number;
}

export function drawAxis(s: ViewState, ctx: CanvasRenderingContext2D, width: number): Marker[] {
  ctx.clearRect(0, 0, width, AXIS_H);
  ctx.fillStyle = "#fafbfc";
  ctx.fillRect(0, 0, width, AXIS_H);
  ctx.font = "11px system-ui, sans-serif";
  ctx.textBaseline = "top";
  const usPerPx = (s.to - s.from) / Math.max(width - LABEL_W, 1);
  const step = tickStep(usPerPx);
  ctx.fillStyle = "#555";
  for (let t = Math.ceil(s.from / step) * step; t <= s.to; t += step) {
    const x = xOf(s, width, t);
    ctx.fillRect(x, AXIS_H - 8, 1, 8);
    ctx.fillText(fmtTick(t, step), x + 3, 3);
  }
  ctx.fillStyle = "#333";
  ctx.fillText(`${s.rows.length} rows · ${s.procs.length} processes`, 6, 3);
  const markers: Marker[] = [];
  const mark = (t: number, kind: Marker["kind"], index: number, color: string) => {
    const x = xOf(s, width, t);
    if (x < LABEL_W || x > width) return;
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.moveTo(x - 5, AXIS_H - 12);
    ctx.lineTo(x + 5, AXIS_H - 12);
    ctx.lineTo(x, AXIS_H - 2);
    ctx.closePath();
    ctx.fill();
    markers.push({ x, kind, index });
  };
  s.data.trace.lost.forEach((l, k) => {
    mark(l.t, "lost", k, "#f08c00");
  });
  s.data.trace.alerts.forEach((a, k) => {
    mark(a.t, "alert", k, "#d1393b");
  });
  ctx.fillStyle = "#d0d4da";
  ctx.fillRect(0, AXIS_H - 1, width, 1);
  return markers;
}
