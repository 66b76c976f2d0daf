// The NATS wire format: each event is its NDJSON line (docs/events.md) with three
// fields appended, last and in this order: "host", "run" and "seq". A message body
// holds one or more such lines. Being last and fixed in form, the three can be read
// back from a line's tail without parsing the JSON (the spool replays lines stored by
// an earlier run, and needs their identity for the message id).
import { escapeJsonLine } from "../tracker/escape.ts";
import type { TraceEvent } from "../tracker/events.ts";
import { JsonEventWriter } from "../tracker/json-bytes.ts";

export interface LineIdentity {
  host: string;
  run: string;
  seq: number;
}

export class LineEncoder {
  private readonly scratch = Buffer.allocUnsafe(256 * 1024);
  private readonly json = new JsonEventWriter();
  private readonly tailPrefix: string;

  constructor(host: string, run: string) {
    // Host and run are checked tokens (identity.ts): no escaping needed.
    this.tailPrefix = `,"host":"${host}","run":"${run}","seq":`;
  }

  /** The line of `ev` with its identity, newline-terminated. */
  encode(ev: TraceEvent, seq: number): Buffer {
    const tail = `${this.tailPrefix}${seq}}\n`;
    const end = this.json.write(this.scratch, 0, this.scratch.length - tail.length - 1, ev);
    if (end > 0 && this.scratch[end - 1] === 0x7d) {
      const out = Buffer.allocUnsafe(end - 1 + tail.length);
      this.scratch.copy(out, 0, 0, end - 1);
      out.write(tail, end - 1, "latin1");
      return out;
    }
    const json = escapeJsonLine(ev);
    return Buffer.from(`${json.slice(0, -1)}${tail}`);
  }
}

const TAIL_RE = /,"host":"([A-Za-z0-9_-]+)","run":"([0-9a-f]+)","seq":(\d+)\}$/;

/** Identity of the line that ends at `end` (exclusive, without its '\n') in `buf`. */
export function lineIdentity(buf: Uint8Array, end: number): LineIdentity | undefined {
  const from = Math.max(0, end - 200);
  const m = TAIL_RE.exec(Buffer.from(buf.buffer, buf.byteOffset + from, end - from).toString("latin1"));
  if (!m) return undefined;
  return { host: m[1] as string, run: m[2] as string, seq: Number(m[3]) };
}

/**
 * The Nats-Msg-Id of a message holding lines: "<host>.<run>.<first seq>-<last seq>".
 * A retry sends the very same bytes, so JetStream's duplicate window drops a second copy
 * of a message whose acknowledgement was lost.
 */
export function batchMessageId(bytes: Uint8Array): string {
  const lastEnd = bytes.length - 1;
  const firstEnd = bytes.indexOf(10);
  const first = lineIdentity(bytes, firstEnd);
  const last = lineIdentity(bytes, lastEnd);
  if (!first || !last) {
    // Not written by this encoder (a damaged spool file): a content hash still makes retries idempotent.
    let h = 0x811c9dc5;
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193);
    return `x.${bytes.length}.${(h >>> 0).toString(16)}`;
  }
  return `${first.host}.${first.run}.${first.seq}-${last.seq}`;
}

/** Lines in a message body. */
export function countLines(bytes: Uint8Array): number {
  let n = 0;
  for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) n++;
  return n;
}
