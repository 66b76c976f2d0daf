// The older attach commands of bpf(2), BPF_PROG_ATTACH / BPF_PROG_DETACH / BPF_PROG_QUERY
// (cgroups before BPF_LINK_CREATE took them in 5.7, sockmaps, flow dissector), and
// BPF_ITER_CREATE, which opens a readable instance of an iterator link.
import * as U from "../uapi.ts";
import {
  type AttrValue,
  describeValues,
  encodeAttr,
  ITER_CREATE,
  PROG_ATTACH,
  PROG_QUERY,
} from "./bpf-attr.ts";
import { bpf } from "./bpf-core.ts";

export interface ProgAttachAttr {
  /** cgroup directory fd, sockmap fd, netns fd, ... */
  target_fd: number;
  attach_bpf_fd: number;
  attach_type: number;
  /** BPF_F_ALLOW_MULTI / BPF_F_ALLOW_OVERRIDE / BPF_F_REPLACE */
  attach_flags?: number;
  replace_bpf_fd?: number;
}

/** BPF_PROG_ATTACH */
export function progAttach(attrs: ProgAttachAttr, what?: string): void {
  const values = attrs as unknown as Record<string, AttrValue>;
  const { attr } = encodeAttr(PROG_ATTACH, values);
  bpf(U.BPF_PROG_ATTACH, attr, { what, fields: describeValues(values) });
}

/** BPF_PROG_DETACH of one program (attach_bpf_fd) from target_fd. */
export function progDetach(attrs: ProgAttachAttr, what?: string): void {
  const values = attrs as unknown as Record<string, AttrValue>;
  const { attr } = encodeAttr(PROG_ATTACH, values);
  bpf(U.BPF_PROG_DETACH, attr, { what, fields: describeValues(values) });
}

/** BPF_PROG_QUERY: ids of the programs attached at (target_fd, attach_type), up to 64. */
export function progQuery(targetFd: number, attachType: number, what?: string): number[] {
  const ids = new Uint8Array(new ArrayBuffer(64 * 4));
  const values: Record<string, AttrValue> = {
    target_fd: targetFd,
    attach_type: attachType,
    prog_ids: ids,
    prog_cnt: 64,
  };
  const { attr } = encodeAttr(PROG_QUERY, values);
  bpf(U.BPF_PROG_QUERY, attr, { what, fields: describeValues(values) });
  const n = new DataView(attr.buffer).getUint32(24, true);
  const dv = new DataView(ids.buffer);
  return Array.from({ length: Math.min(n, 64) }, (_, i) => dv.getUint32(i * 4, true));
}

/** BPF_ITER_CREATE: a new fd that reads one pass of the iterator behind `linkFd`. */
export function iterCreate(linkFd: number, what?: string): number {
  const values: Record<string, AttrValue> = { link_fd: linkFd };
  const { attr } = encodeAttr(ITER_CREATE, values);
  return bpf(U.BPF_ITER_CREATE, attr, { what, fields: describeValues(values) });
}
