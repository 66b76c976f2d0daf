// The report page's script: reads the embedded trace, draws the waterfall on a canvas
// (only the visible rows), and wires zoom/pan, collapse, search, hover and selection.
// Bundled by scripts/build-report-client.mjs into src/report/client-bundle.ts.
import type { ReportPayload } from "../payload.ts";
import {
  AXIS_H,
  type DrawnBar,
  drawAxis,
  drawRows,
  LABEL_W,
  label,
  type Marker,
  ROW_H,
  tOf,
} from "./draw.ts";
import { argvLine, fmtDur, visible } from "./format.ts";
import { el, outcomeText, renderDetails, renderSummary } from "./panel.ts";
import {
  collapseBelow,
  createState,
  expandAll,
  fit,
  nextMatch,
  pan,
  reveal,
  search,
  toggle,
  zoom,
} from "./state.ts";

/** What tests and the benchmark read from the page (window.tsbpfReport). */
export interface ReportHandle {
  processCount: number;
  rowCount(): number;
  /** Bars drawn in the last frame. */
  drawnBars(): DrawnBar[];
  select(i: number): void;
  /** Alert and lost-event markers drawn on the time axis in the last frame. */
  markers(): Marker[];
  /** The argv the page shows for process i. */
  argv(i: number): string[];
  /** ms from navigation start to the end of the first canvas draw. */
  firstDrawMs: number;
  /** ms from navigation start until that frame was on screen (two animation frames later). */
  firstPaintMs: number;
  /** ms the last frame took to draw. */
  lastDrawMs: number;
  frames: number;
}

function byId<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

function start(): void {
  const json = byId("tsbpf-data").textContent ?? "{}";
  const data = JSON.parse(json) as ReportPayload;
  const s = createState(data);
  // Big trees open two levels deep; a build-sized one opens fully.
  if (s.procs.length > 2000) collapseBelow(s, 1);

  const scroller = byId<HTMLDivElement>("scroller");
  const spacer = byId<HTMLDivElement>("spacer");
  const canvas = byId<HTMLCanvasElement>("rows");
  const axis = byId<HTMLCanvasElement>("axis");
  const tip = byId<HTMLDivElement>("tip");
  const details = byId<HTMLDivElement>("details");
  const summary = byId<HTMLDivElement>("summary");
  const searchBox = byId<HTMLInputElement>("search");
  const searchInfo = byId<HTMLSpanElement>("search-info");
  const ctx = canvas.getContext("2d") as CanvasRenderingContext2D;
  const actx = axis.getContext("2d") as CanvasRenderingContext2D;
  byId("title").textContent = `tsbpf report: ${visible(data.source)}`;
  byId("subtitle").textContent = data.trace.t0Iso
    ? `${data.trace.t0Iso} · ${fmtDur(data.trace.duration)} · ${data.trace.processes.length} processes`
    : "empty trace";

  let bars: DrawnBar[] = [];
  let markers: Marker[] = [];
  let width = 0;
  let height = 0;
  let pending = false;
  const handle: ReportHandle = {
    processCount: s.procs.length,
    rowCount: () => s.rows.length,
    drawnBars: () => bars.slice(),
    select: (i) => select(i, true),
    argv: (i) => s.procs[i]?.argv ?? [],
    markers: () => markers.slice(),
    firstDrawMs: 0,
    firstPaintMs: 0,
    lastDrawMs: 0,
    frames: 0,
  };
  (window as unknown as { tsbpfReport: ReportHandle }).tsbpfReport = handle;

  function resize(): void {
    const dpr = window.devicePixelRatio || 1;
    width = scroller.clientWidth;
    height = scroller.clientHeight;
    for (const [c, h] of [
      [canvas, height],
      [axis, AXIS_H],
    ] as const) {
      c.width = Math.round(width * dpr);
      c.height = Math.round(h * dpr);
      c.style.width = `${width}px`;
      c.style.height = `${h}px`;
      (c.getContext("2d") as CanvasRenderingContext2D).setTransform(dpr, 0, 0, dpr, 0, 0);
    }
  }

  function draw(): void {
    pending = false;
    const t = performance.now();
    spacer.style.height = `${s.rows.length * ROW_H}px`;
    bars = drawRows(s, { ctx, width, height, scrollTop: scroller.scrollTop });
    markers = drawAxis(s, actx, width);
    handle.lastDrawMs = performance.now() - t;
    handle.frames++;
    if (!handle.firstDrawMs) {
      handle.firstDrawMs = performance.now();
      // A rAF callback runs before its frame is painted; the second one runs after the
      // frame holding this draw was painted.
      requestAnimationFrame(() =>
        requestAnimationFrame(() => {
          handle.firstPaintMs = performance.now();
        }),
      );
    }
  }

  function redraw(): void {
    if (pending) return;
    pending = true;
    requestAnimationFrame(draw);
  }

  function select(i: number, scroll: boolean): void {
    s.selected = i;
    if (i >= 0) {
      reveal(s, i);
      const r = s.rowOf[i] as number;
      if (scroll && r >= 0) {
        const y = r * ROW_H;
        if (y < scroller.scrollTop || y + ROW_H > scroller.scrollTop + height)
          scroller.scrollTop = Math.max(0, y - height / 3);
        const p = s.procs[i];
        if (p && (p.start > s.to || (s.end[i] as number) < s.from)) fit(s);
      }
    }
    renderDetails(s, details, i, (j) => select(j, true));
    redraw();
  }

  function rowAt(y: number): number {
    const r = Math.floor((y + scroller.scrollTop) / ROW_H);
    return r >= 0 && r < s.rows.length ? (s.rows[r] as number) : -1;
  }

  function showTip(x: number, y: number, text: string[]): void {
    tip.replaceChildren(...text.map((t) => el("div", {}, t)));
    tip.style.display = "block";
    const r = scroller.getBoundingClientRect();
    tip.style.left = `${Math.min(r.left + x + 14, window.innerWidth - 360)}px`;
    tip.style.top = `${r.top + y + 16}px`;
  }

  // Pointer: click selects (or toggles in the label column), drag pans, wheel scrolls;
  // ctrl/⌘+wheel zooms at the pointer, shift+wheel or a horizontal wheel pans.
  let drag: { x: number; from: number; to: number; moved: boolean } | null = null;
  scroller.addEventListener("mousedown", (e) => {
    if (e.button !== 0 || e.offsetX < LABEL_W) return;
    drag = { x: e.clientX, from: s.from, to: s.to, moved: false };
  });
  window.addEventListener("mousemove", (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x;
    if (Math.abs(dx) > 3) drag.moved = true;
    if (!drag.moved) return;
    const dt = (dx / Math.max(width - LABEL_W, 1)) * (drag.to - drag.from);
    s.from = drag.from - dt;
    s.to = drag.to - dt;
    redraw();
  });
  window.addEventListener("mouseup", () => {
    setTimeout(() => {
      drag = null;
    });
  });
  scroller.addEventListener("click", (e) => {
    if (drag?.moved) return;
    const i = rowAt(e.offsetY);
    if (i < 0) return;
    const indent = 4 + (s.depth[i] as number) * 12;
    if (e.offsetX < LABEL_W && e.offsetX >= indent - 2 && e.offsetX < indent + 12) {
      toggle(s, i);
      redraw();
      return;
    }
    select(i, false);
  });
  scroller.addEventListener("dblclick", (e) => {
    const i = rowAt(e.offsetY);
    if (i < 0 || e.offsetX < LABEL_W) return;
    const p = s.procs[i];
    if (!p) return;
    const span = Math.max((s.end[i] as number) - p.start, 1);
    s.from = p.start - span * 0.05;
    s.to = p.start + span * 1.05;
    redraw();
  });
  scroller.addEventListener("mousemove", (e) => {
    const i = rowAt(e.offsetY);
    if (i !== s.hover) {
      s.hover = i;
      redraw();
    }
    const p = s.procs[i];
    if (!p || drag?.moved) {
      tip.style.display = "none";
      return;
    }
    const d = (s.end[i] as number) - p.start;
    showTip(e.offsetX, e.offsetY, [
      visible(label(s, i)),
      argvLine(p.argv).slice(0, 300),
      `${outcomeText(p)} · ${fmtDur(d)} · start +${fmtDur(p.start)}`,
    ]);
  });
  scroller.addEventListener("mouseleave", () => {
    tip.style.display = "none";
    s.hover = -1;
    redraw();
  });
  scroller.addEventListener(
    "wheel",
    (e) => {
      if (e.ctrlKey || e.metaKey) {
        e.preventDefault();
        zoom(s, Math.exp(e.deltaY * 0.002), tOf(s, width, Math.max(e.offsetX, LABEL_W)));
        redraw();
      } else if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
        e.preventDefault();
        const d = e.shiftKey ? e.deltaY || e.deltaX : e.deltaX;
        pan(s, (d / Math.max(width - LABEL_W, 1)) * (s.to - s.from));
        redraw();
      }
    },
    { passive: false },
  );
  scroller.addEventListener("scroll", redraw);
  axis.addEventListener("mousemove", (e) => {
    const m = markers.find((k) => Math.abs(k.x - e.offsetX) <= 5);
    if (!m) {
      tip.style.display = "none";
      return;
    }
    if (m.kind === "alert") {
      const a = s.data.trace.alerts[m.index];
      if (a)
        showTip(e.offsetX, -AXIS_H, [`alert ${visible(a.severity)}: ${visible(a.rule)}`, visible(a.reason)]);
    } else {
      const l = s.data.trace.lost[m.index];
      if (l) showTip(e.offsetX, -AXIS_H, [`lost ${l.count} ${visible(l.kind)} events`, `at +${fmtDur(l.t)}`]);
    }
  });
  axis.addEventListener("click", (e) => {
    const m = markers.find((k) => k.kind === "alert" && Math.abs(k.x - e.offsetX) <= 5);
    const a = m ? s.data.trace.alerts[m.index] : undefined;
    if (a && a.proc >= 0) select(a.proc, true);
  });
  // The stage's size settles after the header and side panel are laid out, and changes
  // with the window: redraw whenever it does.
  new ResizeObserver(() => {
    resize();
    redraw();
  }).observe(scroller);
  window.addEventListener("keydown", (e) => {
    if (e.target === searchBox) return;
    const mid = (s.from + s.to) / 2;
    const span = s.to - s.from;
    if (e.key === "w" || e.key === "+" || e.key === "=") zoom(s, 0.7, mid);
    else if (e.key === "s" || e.key === "-") zoom(s, 1 / 0.7, mid);
    else if (e.key === "a" || e.key === "ArrowLeft") pan(s, -span * 0.15);
    else if (e.key === "d" || e.key === "ArrowRight") pan(s, span * 0.15);
    else if (e.key === "0") fit(s);
    else if (e.key === "/") {
      e.preventDefault();
      searchBox.focus();
      return;
    } else return;
    redraw();
  });

  const buttons: [string, () => void][] = [
    ["zoom-in", () => zoom(s, 0.5, (s.from + s.to) / 2)],
    ["zoom-out", () => zoom(s, 2, (s.from + s.to) / 2)],
    ["zoom-fit", () => fit(s)],
    ["expand-all", () => expandAll(s)],
    ["collapse-all", () => collapseBelow(s, 0)],
  ];
  for (const [id, f] of buttons)
    byId(id).addEventListener("click", () => {
      f();
      redraw();
    });

  let searchTimer = 0;
  searchBox.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = window.setTimeout(() => {
      search(s, searchBox.value);
      searchInfo.textContent = searchBox.value
        ? `${s.matchCount} match${s.matchCount === 1 ? "" : "es"}`
        : "";
      redraw();
    }, 120);
  });
  searchBox.addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    clearTimeout(searchTimer);
    if (s.query !== searchBox.value) search(s, searchBox.value);
    const i = nextMatch(s, s.selected);
    searchInfo.textContent = searchBox.value ? `${s.matchCount} match${s.matchCount === 1 ? "" : "es"}` : "";
    if (i >= 0) select(i, true);
  });

  resize();
  renderSummary(s, summary, (i) => select(i, true));
  renderDetails(s, details, -1, () => {});
  draw();
}

start();
