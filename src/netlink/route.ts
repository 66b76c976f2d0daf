// The rtnetlink requests tsbpf makes: XDP on a link (IFLA_XDP in RTM_SETLINK, read back
// from RTM_GETLINK), the clsact qdisc and cls_bpf filters (RTM_*QDISC, RTM_*TFILTER),
// as iproute2's `ip link set xdp` and `tc qdisc/filter` send them.

import type { NetlinkConn } from "./conn.ts";
import {
  AF_UNSPEC,
  ETH_P_ALL,
  IFINFOMSG_LEN,
  IFLA_XDP,
  IFLA_XDP_ATTACHED,
  IFLA_XDP_DRV_PROG_ID,
  IFLA_XDP_EXPECTED_FD,
  IFLA_XDP_FD,
  IFLA_XDP_FLAGS,
  IFLA_XDP_PROG_ID,
  IFLA_XDP_SKB_PROG_ID,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_ECHO,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  RTM_DELQDISC,
  RTM_DELTFILTER,
  RTM_GETLINK,
  RTM_GETTFILTER,
  RTM_NEWLINK,
  RTM_NEWQDISC,
  RTM_NEWTFILTER,
  RTM_SETLINK,
  TC_H_CLSACT,
  TC_H_MAKE,
  TCA_BPF_FD,
  TCA_BPF_FLAG_ACT_DIRECT,
  TCA_BPF_FLAGS,
  TCA_BPF_ID,
  TCA_BPF_NAME,
  TCA_KIND,
  TCA_OPTIONS,
  TCMSG_LEN,
} from "./consts.ts";
import { attrStr, attrU32, findAttr, NlMsgBuilder, parseAttrs } from "./message.ts";

function ifinfomsg(ifindex: number): Uint8Array {
  const b = new Uint8Array(IFINFOMSG_LEN);
  const dv = new DataView(b.buffer);
  dv.setUint8(0, AF_UNSPEC);
  dv.setInt32(4, ifindex, true);
  return b;
}

function tcmsg(ifindex: number, handle: number, parent: number, info: number): Uint8Array {
  const b = new Uint8Array(TCMSG_LEN);
  const dv = new DataView(b.buffer);
  dv.setUint8(0, AF_UNSPEC);
  dv.setInt32(4, ifindex, true);
  dv.setUint32(8, handle >>> 0, true);
  dv.setUint32(12, parent >>> 0, true);
  dv.setUint32(16, info >>> 0, true);
  return b;
}

export interface SetXdpArgs {
  ifindex: number;
  /** Program fd, or -1 to remove. */
  fd: number;
  /** XDP_FLAGS_* (mode, UPDATE_IF_NOEXIST, REPLACE). */
  flags: number;
  /** With XDP_FLAGS_REPLACE: only act if this program is the one attached. */
  expectedFd?: number;
}

/** RTM_SETLINK with IFLA_XDP { FD, FLAGS, EXPECTED_FD }. */
export function setLinkXdp(c: NetlinkConn, a: SetXdpArgs, what?: string): void {
  const m = new NlMsgBuilder(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, ifinfomsg(a.ifindex));
  m.begin(IFLA_XDP).s32(IFLA_XDP_FD, a.fd);
  if (a.flags) m.u32(IFLA_XDP_FLAGS, a.flags);
  if (a.expectedFd !== undefined) m.s32(IFLA_XDP_EXPECTED_FD, a.expectedFd);
  m.end();
  c.request(m, what);
}

export interface XdpState {
  /** XDP_ATTACHED_*: none, drv, skb, hw or multi. */
  attached: number;
  progId: number;
  skbProgId: number;
  drvProgId: number;
}

/** RTM_GETLINK for one interface, decoding its IFLA_XDP nest. */
export function getLinkXdp(c: NetlinkConn, ifindex: number, what?: string): XdpState {
  const m = new NlMsgBuilder(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, ifinfomsg(ifindex));
  const out: XdpState = { attached: 0, progId: 0, skbProgId: 0, drvProgId: 0 };
  for (const r of c.request(m, what)) {
    if (r.type !== RTM_NEWLINK) continue;
    const xdp = findAttr(parseAttrs(r.payload.subarray(IFINFOMSG_LEN)), IFLA_XDP);
    if (!xdp) continue;
    const inner = parseAttrs(xdp.data);
    const u = (t: number) => {
      const a = findAttr(inner, t);
      return a ? (t === IFLA_XDP_ATTACHED ? (a.data[0] ?? 0) : attrU32(a)) : 0;
    };
    out.attached = u(IFLA_XDP_ATTACHED);
    out.progId = u(IFLA_XDP_PROG_ID);
    out.skbProgId = u(IFLA_XDP_SKB_PROG_ID);
    out.drvProgId = u(IFLA_XDP_DRV_PROG_ID);
  }
  return out;
}

/** The clsact qdisc's handle (ffff:) and parent (TC_H_CLSACT). */
const CLSACT_HANDLE = TC_H_MAKE(TC_H_CLSACT, 0);

/** RTM_NEWQDISC clsact. Returns false when the interface already has one. */
export function addClsact(c: NetlinkConn, ifindex: number, what?: string): boolean {
  const m = new NlMsgBuilder(
    RTM_NEWQDISC,
    NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
    tcmsg(ifindex, CLSACT_HANDLE, TC_H_CLSACT, 0),
  ).str(TCA_KIND, "clsact");
  try {
    c.request(m, what);
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === "EEXIST") return false;
    throw e;
  }
}

/** RTM_DELQDISC clsact (removes every filter under it). */
export function delClsact(c: NetlinkConn, ifindex: number, what?: string): void {
  const m = new NlMsgBuilder(
    RTM_DELQDISC,
    NLM_F_REQUEST | NLM_F_ACK,
    tcmsg(ifindex, CLSACT_HANDLE, TC_H_CLSACT, 0),
  ).str(TCA_KIND, "clsact");
  c.request(m, what);
}

export interface BpfFilter {
  ifindex: number;
  /** TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS | TC_H_MIN_EGRESS) */
  parent: number;
  /** 0: the kernel picks one. */
  handle: number;
  /** 0: the kernel picks one. */
  priority: number;
}

/** tcm_info of a filter: priority in the upper 16 bits, protocol (big-endian) in the lower. */
function filterInfo(priority: number): number {
  const protoBe = ((ETH_P_ALL & 0xff) << 8) | (ETH_P_ALL >> 8);
  return TC_H_MAKE(priority << 16, protoBe);
}

/**
 * RTM_NEWTFILTER of a cls_bpf filter in direct-action mode. NLM_F_ECHO makes the kernel
 * send the filter back, with the handle and priority it chose when we gave 0.
 */
export function addBpfFilter(
  c: NetlinkConn,
  f: BpfFilter & { progFd: number; name: string },
  what?: string,
): BpfFilter {
  const m = new NlMsgBuilder(
    RTM_NEWTFILTER,
    NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO,
    tcmsg(f.ifindex, f.handle, f.parent, filterInfo(f.priority)),
  )
    .str(TCA_KIND, "bpf")
    .begin(TCA_OPTIONS)
    .u32(TCA_BPF_FD, f.progFd)
    .str(TCA_BPF_NAME, f.name)
    .u32(TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT)
    .end();
  const out: BpfFilter = { ...f };
  for (const r of c.request(m, what)) {
    if (r.type !== RTM_NEWTFILTER || r.payload.byteLength < TCMSG_LEN) continue;
    const dv = new DataView(r.payload.buffer, r.payload.byteOffset, TCMSG_LEN);
    out.handle = dv.getUint32(8, true);
    out.priority = dv.getUint32(16, true) >>> 16;
  }
  return out;
}

/** RTM_DELTFILTER of one cls_bpf filter. */
export function delBpfFilter(c: NetlinkConn, f: BpfFilter, what?: string): void {
  const m = new NlMsgBuilder(
    RTM_DELTFILTER,
    NLM_F_REQUEST | NLM_F_ACK,
    tcmsg(f.ifindex, f.handle, f.parent, filterInfo(f.priority)),
  ).str(TCA_KIND, "bpf");
  c.request(m, what);
}

export interface BpfFilterInfo extends BpfFilter {
  /** Program id (TCA_BPF_ID), 0 when not a bpf filter. */
  progId: number;
  name: string;
  kind: string;
}

/** RTM_GETTFILTER dump of the filters at (ifindex, parent). */
export function listFilters(c: NetlinkConn, ifindex: number, parent: number, what?: string): BpfFilterInfo[] {
  const m = new NlMsgBuilder(RTM_GETTFILTER, NLM_F_REQUEST | NLM_F_DUMP, tcmsg(ifindex, 0, parent, 0));
  const out: BpfFilterInfo[] = [];
  for (const r of c.request(m, what)) {
    if (r.type !== RTM_NEWTFILTER || r.payload.byteLength < TCMSG_LEN) continue;
    const dv = new DataView(r.payload.buffer, r.payload.byteOffset, TCMSG_LEN);
    const attrs = parseAttrs(r.payload.subarray(TCMSG_LEN));
    const kind = findAttr(attrs, TCA_KIND);
    const opts = findAttr(attrs, TCA_OPTIONS);
    const inner = opts ? parseAttrs(opts.data) : [];
    const id = findAttr(inner, TCA_BPF_ID);
    const name = findAttr(inner, TCA_BPF_NAME);
    // A dump lists a chain's priority once with handle 0 before its filters: skip it.
    const handle = dv.getUint32(8, true);
    if (handle === 0) continue;
    out.push({
      ifindex,
      parent,
      handle,
      priority: dv.getUint32(16, true) >>> 16,
      progId: id ? attrU32(id) : 0,
      name: name ? attrStr(name) : "",
      kind: kind ? attrStr(kind) : "",
    });
  }
  return out;
}
