// A small SVG bar chart of the headline ratios of bench:peers, drawn by hand (no
// library): one row per ratio, grouped by peer, bars diverging from a 1.0 line on
// a log2 axis so that "2× better" and "2× worse" are the same length. Every ratio
// is oriented so that > 1 means tsbpf does better than the peer.

export interface Bar {
  group: string;
  label: string;
  /** > 1: tsbpf better; NaN or undefined: not measured (drawn as text) */
  value: number | undefined;
  note?: string;
}

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export function renderChart(title: string, subtitle: string, bars: Bar[]): string {
  const W = 820;
  const labelW = 290;
  const plotX = labelW + 10;
  const plotW = W - plotX - 90;
  const rowH = 22;
  const top = 70;
  const groups = [...new Set(bars.map((b) => b.group))];
  const finite = bars
    .map((b) => b.value)
    .filter((v): v is number => v !== undefined && Number.isFinite(v) && v > 0);
  // Axis span in powers of two, symmetric around 1, at least 1/4..4.
  // One spare power of two so that value labels never run into the row labels.
  const span = Math.max(2, ...finite.map((v) => Math.ceil(Math.abs(Math.log2(v))) + 1));
  const x = (v: number) => plotX + ((Math.log2(v) + span) / (2 * span)) * plotW;
  const x1 = x(1);
  const out: string[] = [];
  let y = top;
  for (const g of groups) {
    out.push(`<text x="10" y="${y + 15}" class="g">${esc(g)}</text>`);
    y += rowH;
    for (const b of bars.filter((b) => b.group === g)) {
      out.push(`<text x="${labelW}" y="${y + 15}" text-anchor="end">${esc(b.label)}</text>`);
      if (b.value === undefined || !Number.isFinite(b.value) || b.value <= 0) {
        out.push(`<text x="${x1 + 6}" y="${y + 15}" class="na">${esc(b.note ?? "not measured")}</text>`);
      } else {
        const xv = x(Math.min(Math.max(b.value, 2 ** -span), 2 ** span));
        const good = b.value >= 1;
        const [bx, bw] = good ? [x1, xv - x1] : [xv, x1 - xv];
        out.push(
          `<rect x="${bx.toFixed(1)}" y="${y + 4}" width="${Math.max(bw, 1).toFixed(1)}" height="${rowH - 8}" class="${good ? "up" : "down"}"/>`,
        );
        const text = `${b.value >= 10 ? b.value.toFixed(0) : b.value.toFixed(2)}×${b.note ? ` ${b.note}` : ""}`;
        out.push(
          good
            ? `<text x="${(xv + 4).toFixed(1)}" y="${y + 15}">${esc(text)}</text>`
            : `<text x="${(xv - 4).toFixed(1)}" y="${y + 15}" text-anchor="end">${esc(text)}</text>`,
        );
      }
      y += rowH;
    }
    y += 6;
  }
  const H = y + 40;
  const ticks: string[] = [];
  for (let e = -span; e <= span; e++) {
    const tx = x(2 ** e);
    const lbl = e >= 0 ? `${2 ** e}` : `1/${2 ** -e}`;
    ticks.push(`<line x1="${tx.toFixed(1)}" y1="${top - 4}" x2="${tx.toFixed(1)}" y2="${y}" class="grid"/>`);
    ticks.push(`<text x="${tx.toFixed(1)}" y="${y + 16}" text-anchor="middle" class="t">${lbl}</text>`);
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    "<style>text{fill:#222}.g{font-weight:bold}.na{fill:#a33;font-style:italic}.t{fill:#666;font-size:10px}" +
      ".grid{stroke:#ddd}.one{stroke:#222;stroke-width:1.5}.up{fill:#3a7d44}.down{fill:#c0504d}</style>",
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="10" y="22" font-size="15" class="g">${esc(title)}</text>`,
    `<text x="10" y="42" class="t" font-size="11">${esc(subtitle)}</text>`,
    ...ticks,
    `<line x1="${x1.toFixed(1)}" y1="${top - 4}" x2="${x1.toFixed(1)}" y2="${y}" class="one"/>`,
    ...out,
    `<text x="${x1.toFixed(1)}" y="${y + 32}" text-anchor="middle" class="t">← peer better · ratio (log scale) · tsbpf better →</text>`,
    "</svg>",
    "",
  ].join("\n");
}
