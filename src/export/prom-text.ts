// Prometheus text exposition format, version 0.0.4
// (prometheus.io/docs/instrumenting/exposition_formats): one `# HELP` and one `# TYPE`
// line per family, then one `name{label="value"} number` line per sample. Label values
// escape `\`, `"` and newline; HELP text escapes `\` and newline. Written by hand
// rather than with prom-client: koffi must stay the only required runtime dependency,
// the tracer exposes a dozen families whose values already exist elsewhere (counters
// kept per event, gauges read at scrape time), and the format is this small. The
// tests check it against the real parser: Prometheus scrapes it.

export type MetricType = "counter" | "gauge" | "histogram";
export type Labels = Readonly<Record<string, string>>;

/** The Content-Type a 0.0.4 text scrape answers with. */
export const PROM_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

function escapeLabel(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

function escapeHelp(v: string): string {
  return v.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\"));
}

/** Go's strconv float syntax, which the parser expects: +Inf, -Inf, NaN. */
export function formatValue(v: number | bigint): string {
  if (typeof v === "bigint") return v.toString();
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}

function labelText(labels: Labels | undefined): string {
  if (!labels) return "";
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k] as string)}"`).join(",")}}`;
}

/** Metric and label names: [a-zA-Z_:][a-zA-Z0-9_:]* (labels without ':'). */
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** Builds one scrape's text. Families must not repeat; samples follow their family. */
export class Exposition {
  private readonly lines: string[] = [];
  private readonly seen = new Set<string>();

  family(name: string, type: MetricType, help: string): this {
    if (!NAME.test(name)) throw new Error(`invalid metric name '${name}'`);
    if (this.seen.has(name)) throw new Error(`metric family '${name}' written twice`);
    this.seen.add(name);
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, labels: Labels | undefined, value: number | bigint): this {
    this.lines.push(`${name}${labelText(labels)} ${formatValue(value)}`);
    return this;
  }

  /** A family with one sample per entry of `values` (label set → value). */
  each(
    name: string,
    type: "counter" | "gauge",
    help: string,
    values: Iterable<[Labels, number | bigint]>,
  ): this {
    this.family(name, type, help);
    for (const [l, v] of values) this.sample(name, l, v);
    return this;
  }

  histogram(name: string, help: string, h: Histogram, labels?: Labels): this {
    this.family(name, "histogram", help);
    let cum = 0;
    for (let i = 0; i < h.bounds.length; i++) {
      cum += h.counts[i] as number;
      this.sample(`${name}_bucket`, { ...labels, le: formatValue(h.bounds[i] as number) }, cum);
    }
    this.sample(`${name}_bucket`, { ...labels, le: "+Inf" }, h.count);
    this.sample(`${name}_sum`, labels, h.sum);
    this.sample(`${name}_count`, labels, h.count);
    return this;
  }

  text(): string {
    return this.lines.length === 0 ? "" : `${this.lines.join("\n")}\n`;
  }
}

/** A cumulative histogram with fixed upper bounds (the `+Inf` bucket is `count`). */
export class Histogram {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(v: number): void {
    this.sum += v;
    this.count++;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (v <= (b[i] as number)) {
        (this.counts as Float64Array)[i]++;
        return;
      }
    }
  }
}
