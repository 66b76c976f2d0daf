// One rtnetlink socket: send a request, collect the replies up to the kernel's ACK (or
// NLMSG_DONE for a dump), turn an NLMSG_ERROR into a NetlinkError carrying the kernel's
// extended-ack text. The socket belongs to the network namespace of the thread that
// opened it (see inNetns in src/sys/socket.ts), and so do the interfaces it names.
import { TsbpfError } from "../errors.ts";
import { ERRNO_NAMES } from "../sys/errors.ts";
import {
  AF_NETLINK,
  bind,
  close,
  MSG_DONTWAIT,
  MSG_TRUNC,
  NETLINK_CAP_ACK,
  NETLINK_EXT_ACK,
  recv,
  SOCK_RAW,
  SOL_NETLINK,
  sendto,
  setsockoptInt,
  socket,
} from "../sys/socket.ts";
import {
  NETLINK_ROUTE,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  RTM_NAMES,
} from "./consts.ts";
import { type NlMessage, type NlMsgBuilder, parseError, parseMessages } from "./message.ts";

/** An rtnetlink request the kernel refused: errno and its extended-ack message. */
export class NetlinkError extends TsbpfError {
  readonly errno: number;
  readonly code: string;
  /** The kernel's extended-ack message, when it gave one. */
  readonly kernelMessage: string | undefined;
  constructor(request: string, errno: number, kernelMessage: string | undefined, what?: string) {
    const code = ERRNO_NAMES[errno] ?? `errno ${errno}`;
    super(`${request}${what ? ` ${what}` : ""}: ${kernelMessage ? `${kernelMessage} ` : ""}(${code})`);
    this.errno = errno;
    this.code = code;
    this.kernelMessage = kernelMessage;
  }
}

/** Largest datagram read at once: dumps come in skbs of at most 32 KiB (netlink_dump). */
const RECV_SIZE = 64 * 1024;

export class NetlinkConn {
  readonly fd: number;
  private seq = 1;
  private closed = false;
  private readonly buf = new Uint8Array(RECV_SIZE);

  constructor() {
    this.fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, "rtnetlink");
    try {
      // Extended ack: the kernel says why (e.g. "native XDP is not supported"), and the
      // error echoes only our header, not the whole request.
      setsockoptInt(this.fd, SOL_NETLINK, NETLINK_EXT_ACK, 1, "NETLINK_EXT_ACK");
      setsockoptInt(this.fd, SOL_NETLINK, NETLINK_CAP_ACK, 1, "NETLINK_CAP_ACK");
      const sa = new Uint8Array(12); // struct sockaddr_nl
      new DataView(sa.buffer).setUint16(0, AF_NETLINK, true);
      bind(this.fd, sa, "rtnetlink");
    } catch (e) {
      close(this.fd);
      throw e;
    }
  }

  /**
   * Sends `msg` and returns every reply message that is not the final ACK/DONE. The
   * request should carry NLM_F_ACK (or be a dump). rtnetlink answers in the sender's
   * context, so the replies are queued by the time sendto returns; a missing reply is
   * an error rather than a hang.
   */
  request(msg: NlMsgBuilder, what?: string): NlMessage[] {
    if (this.closed) throw new TsbpfError("netlink connection is closed");
    const name = RTM_NAMES[msg.type] ?? `netlink message ${msg.type}`;
    const seq = this.seq++;
    sendto(this.fd, msg.build(seq), null, 0, name);
    const dump = (msg.flags & NLM_F_DUMP) === NLM_F_DUMP;
    const out: NlMessage[] = [];
    for (;;) {
      const n = recv(this.fd, this.buf, MSG_DONTWAIT | MSG_TRUNC, name);
      if (n < 0) throw new NetlinkError(name, 0, "no reply from the kernel", what);
      if (n > this.buf.byteLength)
        throw new NetlinkError(name, 0, `reply of ${n} bytes exceeds the ${RECV_SIZE}-byte buffer`, what);
      for (const m of parseMessages(this.buf.slice(0, n))) {
        if (m.seq !== seq) continue; // a late reply to an earlier request
        if (m.type === NLMSG_ERROR) {
          const err = parseError(m);
          if (err.errno !== 0) throw new NetlinkError(name, err.errno, err.message, what);
          return out;
        }
        if (m.type === NLMSG_DONE) return out;
        if (m.type === NLMSG_NOOP) continue;
        out.push(m);
        if (!dump && !(msg.flags & NLM_F_ACK)) return out;
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    close(this.fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Runs `fn` with a fresh connection and closes it afterwards. */
export function withNetlink<T>(fn: (c: NetlinkConn) => T): T {
  const c = new NetlinkConn();
  try {
    return fn(c);
  } finally {
    c.close();
  }
}
