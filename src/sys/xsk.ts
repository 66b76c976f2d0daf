// AF_XDP sockets, as far as an XSKMAP entry needs one: a socket with a UMEM registered
// (XDP_UMEM_REG over page-aligned memory), its fill and completion rings and an RX ring
// sized, bound to one queue of an interface. An XDP program can then redirect that
// queue's packets to it with bpf_redirect_map(&xskmap, queue, 0). Reading the rings
// (mmap at XDP_PGOFF_RX_RING etc.) is not done here. Constants and struct layouts from
// include/uapi/linux/if_xdp.h.
import { SyscallError } from "./errors.ts";
import { MAP_ANONYMOUS, MAP_PRIVATE, mmap, munmap, PAGE_SIZE, PROT_READ, PROT_WRITE } from "./mm.ts";
import { AF_XDP, bind, SOCK_RAW, setsockopt, setsockoptInt, socket } from "./socket.ts";
import { sys } from "./syscalls.ts";

export const SOL_XDP = 283;
export const XDP_RX_RING = 2;
export const XDP_TX_RING = 3;
export const XDP_UMEM_REG = 4;
export const XDP_UMEM_FILL_RING = 5;
export const XDP_UMEM_COMPLETION_RING = 6;
/** sockaddr_xdp.sxdp_flags */
export const XDP_SHARED_UMEM = 1 << 0;
export const XDP_COPY = 1 << 1;
export const XDP_ZEROCOPY = 1 << 2;

/** Where an AF_XDP socket binds, and the sizes of its UMEM and rings. */
export interface XskOptions {
  ifindex: number;
  queue?: number;
  /** UMEM frames and their size (default 64 x 4096). */
  frames?: number;
  frameSize?: number;
  /** Ring entries (a power of 2, default 64). */
  ringSize?: number;
  /** Copy mode (works on every driver, generic XDP included) or zero-copy; default copy. */
  zeroCopy?: boolean;
}

/** An AF_XDP socket bound to one queue of an interface: the value of an XSKMAP entry. */
export class XdpSocket {
  readonly fd: number;
  private readonly umem: bigint;
  private readonly umemLen: number;
  private closed = false;

  /** Creates and binds the socket; call inside inNetns for an interface in another namespace. */
  constructor(o: XskOptions) {
    const frames = o.frames ?? 64;
    const frameSize = o.frameSize ?? PAGE_SIZE;
    const ring = o.ringSize ?? 64;
    if (ring & (ring - 1))
      throw new SyscallError("setsockopt(XDP_RX_RING)", 22, {
        what: `ring size ${ring} (must be a power of 2)`,
      });
    this.umemLen = frames * frameSize;
    this.fd = socket(AF_XDP, SOCK_RAW, 0, "AF_XDP socket");
    let umem = 0n;
    try {
      umem = mmap(this.umemLen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, "AF_XDP UMEM");
      // struct xdp_umem_reg { __u64 addr; __u64 len; __u32 chunk_size; __u32 headroom; __u32 flags; __u32 tx_metadata_len; }
      const reg = new Uint8Array(32);
      const dv = new DataView(reg.buffer);
      dv.setBigUint64(0, umem, true);
      dv.setBigUint64(8, BigInt(this.umemLen), true);
      dv.setUint32(16, frameSize, true);
      setsockopt(this.fd, SOL_XDP, XDP_UMEM_REG, reg, "XDP_UMEM_REG");
      setsockoptInt(this.fd, SOL_XDP, XDP_UMEM_FILL_RING, ring, "XDP_UMEM_FILL_RING");
      setsockoptInt(this.fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, ring, "XDP_UMEM_COMPLETION_RING");
      setsockoptInt(this.fd, SOL_XDP, XDP_RX_RING, ring, "XDP_RX_RING");
      // struct sockaddr_xdp { __u16 sxdp_family; __u16 sxdp_flags; __u32 sxdp_ifindex; __u32 sxdp_queue_id; __u32 sxdp_shared_umem_fd; }
      const sa = new Uint8Array(16);
      const sv = new DataView(sa.buffer);
      sv.setUint16(0, AF_XDP, true);
      sv.setUint16(2, o.zeroCopy ? XDP_ZEROCOPY : XDP_COPY, true);
      sv.setUint32(4, o.ifindex, true);
      sv.setUint32(8, o.queue ?? 0, true);
      bind(this.fd, sa, `AF_XDP socket to ifindex ${o.ifindex} queue ${o.queue ?? 0}`);
    } catch (e) {
      sys.close(this.fd);
      if (umem) munmap(umem, this.umemLen);
      throw e;
    }
    this.umem = umem;
  }

  /** Closes the socket and unmaps its UMEM. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    sys.close(this.fd);
    munmap(this.umem, this.umemLen);
  }

  /** `using xsk = new XdpSocket(...)` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }
}
