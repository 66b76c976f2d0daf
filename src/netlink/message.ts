// Netlink messages as bytes: a builder for requests (nlmsghdr, a fixed family header,
// then attributes, nested or not, each padded to 4 bytes: NLMSG_ALIGN / NLA_ALIGN in
// linux/netlink.h) and a parser for replies. Pure: no sockets here (src/netlink/conn.ts
// sends them). The parser never trusts a length field: a reply that claims more bytes
// than it has is a NetlinkParseError, never an out-of-bounds read.
import { TsbpfError } from "../errors.ts";
import {
  NLA_F_NESTED,
  NLA_HDRLEN,
  NLA_TYPE_MASK,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
} from "./consts.ts";

export class NetlinkParseError extends TsbpfError {}

const align4 = (n: number) => (n + 3) & ~3;

/** Builds one request: header, family struct, attributes. */
export class NlMsgBuilder {
  private readonly parts: Uint8Array[] = [];
  private len = NLMSG_HDRLEN;
  /** Open nests: the index of the nest's header part and the length before it. */
  private readonly nests: { part: number; start: number }[] = [];

  constructor(
    readonly type: number,
    readonly flags: number,
    family: Uint8Array,
  ) {
    this.push(family);
  }

  private push(b: Uint8Array): void {
    const padded = align4(b.byteLength);
    const out = new Uint8Array(padded);
    out.set(b);
    this.parts.push(out);
    this.len += padded;
  }

  /** An attribute with raw bytes (padded; nla_len counts the unpadded payload). */
  attr(type: number, data: Uint8Array): this {
    const h = new Uint8Array(NLA_HDRLEN);
    const dv = new DataView(h.buffer);
    dv.setUint16(0, NLA_HDRLEN + data.byteLength, true);
    dv.setUint16(2, type, true);
    this.push(h);
    if (data.byteLength) this.push(data);
    return this;
  }

  u32(type: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return this.attr(type, b);
  }

  s32(type: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, v, true);
    return this.attr(type, b);
  }

  /** NUL-terminated string attribute (NLA_NUL_STRING / NLA_STRING both accept it). */
  str(type: number, s: string): this {
    const bytes = new TextEncoder().encode(s);
    const b = new Uint8Array(bytes.byteLength + 1);
    b.set(bytes);
    return this.attr(type, b);
  }

  /** Opens a nested attribute; everything until end() goes inside it. */
  begin(type: number): this {
    const h = new Uint8Array(NLA_HDRLEN);
    new DataView(h.buffer).setUint16(2, type | NLA_F_NESTED, true);
    this.nests.push({ part: this.parts.length, start: this.len });
    this.push(h);
    return this;
  }

  end(): this {
    const n = this.nests.pop();
    if (!n) throw new Error("NlMsgBuilder.end() without begin()");
    const h = this.parts[n.part] as Uint8Array;
    new DataView(h.buffer).setUint16(0, this.len - n.start, true);
    return this;
  }

  /** The finished message with nlmsg_seq = seq (nlmsg_pid 0: the kernel fills it in). */
  build(seq: number): Uint8Array {
    if (this.nests.length) throw new Error("NlMsgBuilder.build() with an open nest");
    const out = new Uint8Array(this.len);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, this.len, true);
    dv.setUint16(4, this.type, true);
    dv.setUint16(6, this.flags, true);
    dv.setUint32(8, seq >>> 0, true);
    let off = NLMSG_HDRLEN;
    for (const p of this.parts) {
      out.set(p, off);
      off += p.byteLength;
    }
    return out;
  }
}

export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** Everything after the 16-byte header, up to nlmsg_len. */
  payload: Uint8Array;
}

/** Splits a datagram into its messages (NLMSG_NEXT); each must fit in what was received. */
export function parseMessages(buf: Uint8Array): NlMessage[] {
  const out: NlMessage[] = [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.byteLength) {
    const len = dv.getUint32(off, true);
    if (len < NLMSG_HDRLEN || off + len > buf.byteLength)
      throw new NetlinkParseError(
        `netlink reply: message at byte ${off} claims ${len} bytes, ${buf.byteLength - off} remain`,
      );
    out.push({
      type: dv.getUint16(off + 4, true),
      flags: dv.getUint16(off + 6, true),
      seq: dv.getUint32(off + 8, true),
      pid: dv.getUint32(off + 12, true),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

export interface NlAttr {
  /** Type without NLA_F_NESTED / NLA_F_NET_BYTEORDER. */
  type: number;
  nested: boolean;
  data: Uint8Array;
}

/** The attributes in `buf` (a payload after its family header, or a nest's data). */
export function parseAttrs(buf: Uint8Array): NlAttr[] {
  const out: NlAttr[] = [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off + NLA_HDRLEN <= buf.byteLength) {
    const len = dv.getUint16(off, true);
    const type = dv.getUint16(off + 2, true);
    if (len < NLA_HDRLEN || off + len > buf.byteLength)
      throw new NetlinkParseError(
        `netlink attribute at byte ${off} claims ${len} bytes, ${buf.byteLength - off} remain`,
      );
    out.push({
      type: type & NLA_TYPE_MASK,
      nested: (type & NLA_F_NESTED) !== 0,
      data: buf.subarray(off + NLA_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** First attribute of `type`, or undefined. */
export function findAttr(attrs: NlAttr[], type: number): NlAttr | undefined {
  return attrs.find((a) => a.type === type);
}

/** A u32 attribute's value; a short attribute is a parse error. */
export function attrU32(a: NlAttr): number {
  if (a.data.byteLength < 4)
    throw new NetlinkParseError(`netlink attribute ${a.type}: ${a.data.byteLength} bytes, expected 4`);
  return new DataView(a.data.buffer, a.data.byteOffset, 4).getUint32(0, true);
}

/** A string attribute without its NUL. */
export function attrStr(a: NlAttr): string {
  const end = a.data.indexOf(0);
  return new TextDecoder().decode(end < 0 ? a.data : a.data.subarray(0, end));
}

export interface NlError {
  /** 0 for an ACK, else a positive errno. */
  errno: number;
  /** The kernel's extended-ack message ("Underlying driver does not support XDP in native mode"). */
  message?: string;
  /** Byte offset in the request of the attribute the kernel blamed. */
  offset?: number;
}

/**
 * An NLMSG_ERROR payload: struct nlmsgerr { int error; struct nlmsghdr msg; } then, with
 * NLM_F_ACK_TLVS, the extended-ack attributes (after the echoed request unless
 * NLM_F_CAPPED says only its header was echoed: linux/netlink.h).
 */
export function parseError(m: NlMessage): NlError {
  if (m.payload.byteLength < 4 + NLMSG_HDRLEN)
    throw new NetlinkParseError(`netlink error message: ${m.payload.byteLength} bytes, expected at least 20`);
  const dv = new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
  const out: NlError = { errno: -dv.getInt32(0, true) };
  if (m.flags & NLM_F_ACK_TLVS) {
    const echoedLen = m.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : dv.getUint32(4, true);
    const start = 4 + align4(echoedLen);
    if (start <= m.payload.byteLength) {
      const attrs = parseAttrs(m.payload.subarray(start));
      const msg = findAttr(attrs, NLMSGERR_ATTR_MSG);
      if (msg) out.message = attrStr(msg);
      const offs = findAttr(attrs, NLMSGERR_ATTR_OFFS);
      if (offs && offs.data.byteLength >= 4) out.offset = attrU32(offs);
    }
  }
  return out;
}
