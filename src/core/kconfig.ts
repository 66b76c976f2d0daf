// `.kconfig` externs: values of the running kernel's configuration (libbpf
// bpf_object__resolve_externs / bpf_object__process_kconfig_line). Each extern's BTF
// type decides how a config value is stored: bool (y/n), enum libbpf_tristate
// (y/m/n → 1/2/0), char (the letter itself), integers of 1..8 bytes (numbers, range
// checked), char arrays (quoted strings, NUL-terminated, truncated to fit).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { release } from "node:os";
import type { Btf } from "../btf/btf.ts";
import type { ExternSpec } from "../spec.ts";
import { ExternError } from "./errors.ts";

export type KcfgType = "char" | "bool" | "int" | "tristate" | "char_arr" | "unknown";

/** How a kconfig extern's BTF type stores a value (libbpf find_kcfg_type). */
export function kcfgType(btf: Btf, typeId: number): { type: KcfgType; signed: boolean } {
  const t = btf.type(btf.resolve(typeId));
  switch (t.kind) {
    case "int":
      if (t.bool) return { type: t.size === 1 ? "bool" : "unknown", signed: false };
      if (t.size === 1) return { type: "char", signed: t.signed };
      if (t.size < 1 || t.size > 8 || (t.size & (t.size - 1)) !== 0)
        return { type: "unknown", signed: false };
      return { type: "int", signed: t.signed };
    case "enum":
    case "enum64":
      return { type: t.size === 4 && t.name === "libbpf_tristate" ? "tristate" : "unknown", signed: false };
    case "array": {
      if (t.nelems === 0) return { type: "unknown", signed: false };
      return { type: kcfgType(btf, t.type).type === "char" ? "char_arr" : "unknown", signed: false };
    }
    default:
      return { type: "unknown", signed: false };
  }
}

/** KERNEL_VERSION(a, b, c) from a release string; c is clamped to 255 (as libbpf). */
export function kernelVersionCode(rel: string): number {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(rel);
  if (!m)
    throw new ExternError(`LINUX_KERNEL_VERSION: cannot parse kernel release "${rel}" (expected a.b.c)`);
  const c = Math.min(Number(m[3] ?? 0), 255);
  return ((Number(m[1]) << 16) + (Number(m[2]) << 8) + c) >>> 0;
}

/** Reads /proc/config.gz, else /boot/config-$(uname -r); undefined when neither exists. */
export function readKernelConfig(): { text: string; path: string } | undefined {
  try {
    // node:zlib loaded only here: importing it would cost every start, kconfig externs or not.
    const { gunzipSync } = createRequire(process.execPath)("node:zlib") as typeof import("node:zlib");
    return { text: gunzipSync(readFileSync("/proc/config.gz")).toString("latin1"), path: "/proc/config.gz" };
  } catch {
    // Fall back to the distribution's copy.
  }
  const path = `/boot/config-${release()}`;
  try {
    return { text: readFileSync(path, "latin1"), path };
  } catch {
    return undefined;
  }
}

/** CONFIG_NAME → raw value text ("y", "m", "250", "\"str\""); "# ... is not set" lines are skipped (as libbpf). */
export function parseKernelConfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (!line.startsWith("CONFIG_")) continue;
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    out.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  return out;
}

function writeInt(buf: Uint8Array, off: number, size: number, v: bigint): void {
  let u = BigInt.asUintN(size * 8, v);
  for (let i = 0; i < size; i++) {
    buf[off + i] = Number(u & 0xffn);
    u >>= 8n;
  }
}

function inRange(v: bigint, size: number, signed: boolean, negative: boolean): boolean {
  const bits = BigInt(size * 8);
  if (signed) {
    const s = negative ? v : BigInt.asIntN(64, v);
    return s >= -(1n << (bits - 1n)) && s < 1n << (bits - 1n);
  }
  return !negative && v >> bits === 0n;
}

/** Stores one config value into the .kconfig buffer at the extern's offset. */
export function setKconfigValue(
  btf: Btf,
  ext: ExternSpec,
  raw: string,
  buf: Uint8Array,
  where: string,
): void {
  const varT = btf.type(ext.btfId);
  const typeId = varT.kind === "var" ? varT.type : ext.btfId;
  const { type, signed } = kcfgType(btf, typeId);
  const bad = (why: string): never => {
    throw new ExternError(`kconfig extern '${ext.name}' (${where}): ${why}`);
  };
  if (raw === "y" || raw === "n" || raw === "m") {
    if (type === "bool") {
      if (raw === "m")
        bad(`value 'm' is a module tristate but the extern is bool; declare it enum libbpf_tristate`);
      buf[ext.offset] = raw === "y" ? 1 : 0;
    } else if (type === "tristate") {
      writeInt(buf, ext.offset, 4, raw === "y" ? 1n : raw === "m" ? 2n : 0n);
    } else if (type === "char") {
      buf[ext.offset] = raw.charCodeAt(0);
    } else {
      bad(`value '${raw}' needs a bool, enum libbpf_tristate or char extern, not ${type}`);
    }
    return;
  }
  if (raw.startsWith('"')) {
    if (type !== "char_arr") bad(`string value ${raw} needs a char array extern, not ${type}`);
    if (raw.length < 2 || !raw.endsWith('"')) bad(`malformed string value ${raw}`);
    const s = Buffer.from(raw.slice(1, -1), "latin1");
    const n = Math.min(s.length, ext.size - 1);
    buf.set(s.subarray(0, n), ext.offset);
    buf.fill(0, ext.offset + n, ext.offset + ext.size);
    return;
  }
  // A _Bool extern takes a number too, when it is 0 or 1 (libbpf set_kcfg_value_num):
  // `extern const _Bool LINUX_HAS_BPF_COOKIE __kconfig;` in libbpf's usdt.bpf.h.
  if (type !== "int" && type !== "char" && type !== "bool")
    bad(`numeric value ${raw} needs an integer or bool extern, not ${type}`);
  // libbpf parses with strtoull(base 0): decimal, 0x hex, 0 octal; a leading '-' wraps.
  const m = /^(-?)(0x[0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(raw);
  if (!m) bad(`value "${raw}" is not a number`);
  const digits = (m as RegExpExecArray)[2] as string;
  const mag = digits.startsWith("0x")
    ? BigInt(digits)
    : digits.length > 1 && digits.startsWith("0")
      ? BigInt(`0o${digits.slice(1)}`)
      : BigInt(digits);
  const negative = (m as RegExpExecArray)[1] === "-";
  const v = negative ? -mag : mag;
  if (type === "bool") {
    if (v !== 0n && v !== 1n) bad(`value ${raw} does not fit a bool extern (0 or 1)`);
    buf[ext.offset] = Number(v);
    return;
  }
  if (type === "int" && !inRange(v, ext.size, signed, negative))
    bad(`value ${raw} does not fit in ${ext.size} bytes`);
  writeInt(buf, ext.offset, ext.size, v);
}
