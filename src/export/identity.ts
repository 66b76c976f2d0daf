// Who an exported event comes from: the host name (a NATS subject token), a run id
// that tells two runs of the tracer on one host apart, and a per-event sequence
// number. Together they name every event uniquely: consumers deduplicate on them, and
// the publisher derives JetStream's Nats-Msg-Id from them.
import { hostname } from "node:os";
import { ExportError } from "./errors.ts";

/** A subject token: no '.', '*', '>' or white space (NATS subject syntax). */
const HOST_RE = /^[A-Za-z0-9_-]{1,128}$/;

export function checkHostName(name: string): string {
  if (!HOST_RE.test(name))
    throw new ExportError(
      `host name '${name}' must be 1-128 letters, digits, '_' or '-' (it is a NATS subject token)`,
    );
  return name;
}

/** This machine's name as a subject token: characters NATS subjects cannot hold become '_'. */
export function defaultHostName(): string {
  const h = hostname()
    .replace(/[^A-Za-z0-9_-]/g, "_")
    .slice(0, 128);
  return h === "" ? "unknown" : h;
}

/** 12 hex digits, random per tracer run. */
export function newRunId(): string {
  // Web Crypto's global: node:crypto itself is not loaded on the trace's start-up path.
  return Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(6))).toString("hex");
}

/** `tsbpf.events.{host}` → `tsbpf.events.web1`. */
export function expandSubject(template: string, host: string): string {
  return template.replaceAll("{host}", host);
}

/** The stream's subject filter for a template: `{host}` becomes `*`. */
export function subjectFilter(template: string): string {
  return template.replaceAll("{host}", "*");
}

/** Checks a subject template: dot-separated tokens, no wildcards except the {host} placeholder. */
export function checkSubjectTemplate(template: string): string {
  const tokens = template.split(".");
  if (template === "" || tokens.some((t) => t === "" || /[\s*>]/.test(t.replaceAll("{host}", "h"))))
    throw new ExportError(
      `subject '${template}' is not a NATS subject (dot-separated tokens, no spaces or wildcards; {host} is replaced by the host name)`,
    );
  return template;
}
