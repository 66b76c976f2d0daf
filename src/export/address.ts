// ADDRESS:PORT of the metrics endpoint (no I/O: the CLI checks it before anything starts).
import { ExportError } from "./errors.ts";

export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * "127.0.0.1:9090", "[::1]:9090", ":9090" (every address), "localhost:9090".
 * Throws ExportError naming the text when it is not host:port.
 */
export function parseListenAddress(text: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || !(port >= 0 && port <= 65535))
    throw new ExportError(`'${text}' is not ADDRESS:PORT (e.g. 127.0.0.1:9464, [::1]:9464, :9464)`);
  const host = m[1] ?? m[2] ?? "";
  return { host: host === "" ? "::" : host, port };
}
