// Socket filters: setsockopt(SO_ATTACH_BPF) with the program fd on a socket. The
// program sees every packet queued to that socket and returns how many bytes to keep
// (0 drops it). Works on any socket: one the caller made with socket(2), or a Node
// socket's fd. The socket holds the program; the Link removes it (SO_DETACH_BPF) on close.
import { SO_ATTACH_BPF, SO_DETACH_BPF, SOL_SOCKET, setsockoptInt } from "../sys/socket.ts";
import { AttachError, Link } from "./link.ts";
import { targetGone } from "./target.ts";

/** A socket: its fd, or a Node socket (net.Socket, dgram.Socket) whose handle has one. */
export type SocketLike = number | { _handle?: { fd?: number } | null };

/**
 * The handle of a Node socket: net.Socket exposes `_handle`; dgram.Socket keeps it in
 * its state object (reading dgram's `_handle` getter prints a deprecation warning).
 */
function handleOf(sock: object): { fd?: number } | null | undefined {
  const stateKey = Object.getOwnPropertySymbols(sock).find((s) => s.description === "state symbol");
  if (stateKey) return (sock as Record<symbol, { handle?: { fd?: number } }>)[stateKey]?.handle;
  return (sock as { _handle?: { fd?: number } | null })._handle;
}

/** The fd of a socket given as a number or a Node socket object. */
export function socketFd(sock: SocketLike): number {
  const fd = typeof sock === "number" ? sock : handleOf(sock)?.fd;
  if (typeof fd !== "number" || !Number.isInteger(fd) || fd < 0)
    throw new AttachError(
      "socket filter: expected a socket fd or a bound/connected Node socket (an unbound dgram socket has no fd yet)",
    );
  return fd;
}

export function attachSocketFilter(progFd: number, program: string, sock: SocketLike): Link {
  const fd = socketFd(sock);
  setsockoptInt(fd, SOL_SOCKET, SO_ATTACH_BPF, progFd, `SO_ATTACH_BPF on socket fd ${fd}`);
  return new Link({
    fd: -1,
    kind: "socket",
    program,
    target: `socket fd ${fd}`,
    isBpfLink: false,
    method: "setsockopt",
    detach: () => {
      try {
        setsockoptInt(fd, SOL_SOCKET, SO_DETACH_BPF, 0, `SO_DETACH_BPF on socket fd ${fd}`);
      } catch (e) {
        // Closed socket (EBADF) or no filter left (ENOENT): nothing to detach.
        const code = (e as { code?: string }).code;
        if (!targetGone(e) && code !== "EBADF") throw e;
      }
    },
  });
}
