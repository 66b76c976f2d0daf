// BPF iterators (5.8+): an iter/<target> program (task, bpf_map, bpf_map_elem, tcp, ...)
// is attached with BPF_LINK_CREATE (attach_type BPF_TRACE_ITER, plus a struct
// bpf_iter_link_info naming the map, cgroup or task to walk), and each
// BPF_ITER_CREATE on that link gives an fd whose read(2) runs the program once per
// object, seq_file style, until EOF. Pinning the link in bpffs lets anyone `cat` it.
import { createReadStream, readSync } from "node:fs";
import type { Readable } from "node:stream";
import { closeFd, iterCreate, linkCreate } from "../sys/bpf.ts";
import { openPath } from "../sys/socket.ts";
import * as U from "../uapi.ts";
import { BPF_ATTACH_TYPE } from "../uapi.ts";
import { AttachError, Link, type LinkInit } from "./link.ts";

/** enum bpf_cgroup_iter_order, by the short names IterOptions.cgroupOrder takes. */
export const BPF_CGROUP_ITER_ORDER = {
  SELF_ONLY: U.BPF_CGROUP_ITER_SELF_ONLY,
  DESCENDANTS_PRE: U.BPF_CGROUP_ITER_DESCENDANTS_PRE,
  DESCENDANTS_POST: U.BPF_CGROUP_ITER_DESCENDANTS_POST,
  ANCESTORS_UP: U.BPF_CGROUP_ITER_ANCESTORS_UP,
} as const;

export interface IterOptions {
  /** iter/bpf_map_elem, iter/bpf_sk_storage_map, iter/sockmap: the map to walk (its fd). */
  mapFd?: number;
  /** iter/cgroup: the cgroup directory and the walk order (default SELF_ONLY). */
  cgroup?: string;
  cgroupOrder?: keyof typeof BPF_CGROUP_ITER_ORDER;
  /** iter/task, iter/task_file, iter/task_vma: only this thread, or this process. */
  tid?: number;
  pid?: number;
}

/** struct bpf_iter_link_info (a union of 16 bytes), or undefined when nothing narrows the walk. */
function linkInfo(o: IterOptions): { info: Uint8Array; cgroupFd?: number } | undefined {
  const info = new Uint8Array(new ArrayBuffer(16));
  const dv = new DataView(info.buffer);
  const given = [o.mapFd !== undefined, o.cgroup !== undefined, o.tid !== undefined || o.pid !== undefined];
  if (given.filter(Boolean).length > 1)
    throw new AttachError("iterator: give one of mapFd, cgroup, tid/pid (they share bpf_iter_link_info)");
  if (o.mapFd !== undefined) {
    dv.setUint32(0, o.mapFd, true);
    return { info };
  }
  if (o.cgroup !== undefined) {
    const fd = openPath(o.cgroup, `cgroup ${o.cgroup}`);
    dv.setUint32(0, BPF_CGROUP_ITER_ORDER[o.cgroupOrder ?? "SELF_ONLY"], true);
    dv.setUint32(4, fd, true);
    return { info, cgroupFd: fd };
  }
  if (o.tid !== undefined || o.pid !== undefined) {
    if (o.tid !== undefined && o.pid !== undefined)
      throw new AttachError("iterator: give tid or pid, not both");
    dv.setUint32(o.tid !== undefined ? 0 : 4, (o.tid ?? o.pid) as number, true);
    return { info };
  }
  return undefined;
}

/** An attached iterator: each open() / read() / stream() is one fresh pass. */
export class IterLink extends Link {
  /** BPF_ITER_CREATE: a new fd positioned at the start of a pass (the caller closes it). */
  open(): number {
    if (this.isClosed) throw new AttachError(`iterator link of program '${this.program}' is closed`);
    return iterCreate(this.fd, `iterator '${this.program}'`);
  }

  /** One whole pass, read synchronously. */
  readBytes(): Buffer {
    const fd = this.open();
    try {
      const chunks: Buffer[] = [];
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        chunks.push(Buffer.from(buf.subarray(0, n)));
      }
      return Buffer.concat(chunks);
    } finally {
      closeFd(fd);
    }
  }

  /** One whole pass as UTF-8 text (what `cat` of a pinned iterator prints). */
  read(): string {
    return this.readBytes().toString("utf8");
  }

  /** One pass as a Node Readable stream; the fd closes at the end or on destroy(). */
  stream(opts: { highWaterMark?: number } = {}): Readable {
    const fd = this.open();
    return createReadStream("", { fd, autoClose: true, highWaterMark: opts.highWaterMark });
  }
}

export function attachIter(
  progFd: number,
  program: string,
  target: string,
  opts: IterOptions = {},
): IterLink {
  const li = linkInfo(opts);
  try {
    const fd = linkCreate(
      { prog_fd: progFd, target_fd: 0, attach_type: BPF_ATTACH_TYPE.BPF_TRACE_ITER, iter_info: li?.info },
      `iterator ${target}`,
    );
    const init: LinkInit = { fd, kind: "iter", program, target, isBpfLink: true };
    return new IterLink(init);
  } finally {
    if (li?.cgroupFd !== undefined) closeFd(li.cgroupFd);
  }
}
