// The /metrics endpoint: a plain HTTP server (node:http) that answers GET /metrics
// with the text exposition, and 404 for anything else. It renders on each scrape, so
// nothing runs between scrapes.
import { createServer, type Server } from "node:http";
import type { ListenAddress } from "./address.ts";
import { ExportError } from "./errors.ts";
import { PROM_CONTENT_TYPE } from "./prom-text.ts";

export interface MetricsServer {
  /** The address actually bound (port 0 picks a free port). */
  readonly address: ListenAddress;
  close(): Promise<void>;
}

export async function startMetricsServer(at: ListenAddress, render: () => string): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    let body: string;
    try {
      body = render();
    } catch (e) {
      res.writeHead(500, { "content-type": "text/plain" }).end(`${(e as Error).message}\n`);
      return;
    }
    res.writeHead(200, { "content-type": PROM_CONTENT_TYPE, "content-length": Buffer.byteLength(body) });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  // A scrape holds no state worth waiting for at shutdown.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      const shown = at.host.includes(":") ? `[${at.host}]:${at.port}` : `${at.host}:${at.port}`;
      reject(new ExportError(`metrics: cannot listen on ${shown}: ${e.code ?? e.message}`));
    });
    server.listen(at.port, at.host, () => resolve());
  });
  const a = server.address();
  const address = typeof a === "object" && a ? { host: a.address, port: a.port } : at;
  // Scrapes must not keep the tracer alive once it is done.
  server.unref();
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
