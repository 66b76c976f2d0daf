// Loads the official NATS client (@nats-io/transport-node + @nats-io/jetstream), an
// optional dependency: imported only when a NATS feature is used, so `tsbpf trace`
// without it never loads a byte of it. The single binary bundles it
// (scripts/build-sea.mjs), so there it is always present.
import { ExportError } from "./errors.ts";

export type NatsTransport = typeof import("@nats-io/transport-node");
export type NatsJetStream = typeof import("@nats-io/jetstream");

export interface NatsModules {
  transport: NatsTransport;
  jetstream: NatsJetStream;
}

export async function loadNats(): Promise<NatsModules> {
  try {
    const [transport, jetstream] = await Promise.all([
      import("@nats-io/transport-node"),
      import("@nats-io/jetstream"),
    ]);
    return { transport, jetstream };
  } catch (e) {
    throw new ExportError(
      `the NATS client is not installed (npm install @nats-io/transport-node @nats-io/jetstream): ${(e as Error).message.split("\n")[0]}`,
    );
  }
}

/** "nats://a:4222,nats://b:4222" or "a:4222 b:4222" → server list for connect(). */
export function parseServers(text: string): string[] {
  const list = text
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (list.length === 0) throw new ExportError("no NATS server given");
  for (const s of list) {
    const url = /^[a-z]+:\/\//i.test(s) ? s : `nats://${s}`;
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new ExportError(`'${s}' is not a NATS server URL (nats://HOST:PORT)`);
    }
    if (!/^(nats|tls|ws|wss):$/.test(u.protocol) || u.hostname === "")
      throw new ExportError(`'${s}' is not a NATS server URL (nats://HOST:PORT)`);
  }
  return list;
}

/** An error's one-line text (the client's errors can carry long chains). */
export function errText(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split("\n")[0] as string;
}
