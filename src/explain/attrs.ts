// The decoded attrs of a recorded bpf() call, made readable: enum fields get their UAPI
// names, and no user-space address is shown (an address of this process's heap tells a
// reader nothing). Each pointer field says what it points to instead: "441 insns",
// "log buffer 1 MiB", "4-byte key of map 'tracked'". The recorder gives buffers the
// caller described as "<N bytes>" and raw pointers as "0x..." hex strings; each becomes
// its description in angle brackets, "<441 insns>", as the recorder's "<N bytes>" was.
import { BPF_ATTACH_TYPE, BPF_MAP_TYPE_NAMES, BPF_PROG_TYPE_NAMES } from "../uapi.ts";

const ATTACH_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(BPF_ATTACH_TYPE).map(([k, v]) => [v, k.toLowerCase()]),
);

/** What explain knows about the fds a call may name (maps created earlier in the load). */
export interface AttrContext {
  maps: Map<number, { name: string; keySize: number; valueSize: number }>;
}

/** 1048576 → "1 MiB", 1536 → "1.5 KiB", 100 → "100 bytes". */
export function formatSize(n: number): string {
  if (n >= 1 << 20) return `${+(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${+(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} bytes`;
}

function bufferBytes(v: unknown): number | undefined {
  const m = typeof v === "string" ? /^<(\d+) bytes>$/.exec(v) : null;
  return m ? Number(m[1]) : undefined;
}

const isPointer = (v: unknown): boolean => typeof v === "string" && /^0x[0-9a-f]+$/.test(v);

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;

/** The attr with names for enum numbers and a description in place of every pointer. */
export function readableAttr(attr: Record<string, unknown>, ctx: AttrContext): Record<string, unknown> {
  const out: Record<string, unknown> = { ...attr };
  const name = (key: string, table: Record<number, string>) => {
    const v = out[key];
    if (typeof v === "number" && table[v] !== undefined) out[key] = `${v} (${table[v]})`;
  };
  name("map_type", BPF_MAP_TYPE_NAMES);
  name("prog_type", BPF_PROG_TYPE_NAMES);
  name("expected_attach_type", ATTACH_NAMES);
  name("attach_type", ATTACH_NAMES);
  const map = typeof attr.map_fd === "number" ? ctx.maps.get(attr.map_fd) : undefined;
  for (const [k, v] of Object.entries(attr)) {
    const n = bufferBytes(v);
    if (n === undefined && !isPointer(v)) continue;
    out[k] = `<${describe(k, n, attr, map)}>`;
  }
  return out;
}

function describe(
  key: string,
  bytes: number | undefined,
  attr: Record<string, unknown>,
  map: { name: string; keySize: number; valueSize: number } | undefined,
): string {
  const count = (field: string) => (typeof attr[field] === "number" ? (attr[field] as number) : undefined);
  switch (key) {
    case "insns": {
      const n = count("insn_cnt") ?? (bytes !== undefined ? bytes / 8 : undefined);
      return n !== undefined ? plural(n, "insn") : "the instructions";
    }
    case "log_buf":
    case "btf_log_buf": {
      const n = bytes ?? count(key === "log_buf" ? "log_size" : "btf_log_size");
      return n !== undefined ? `log buffer ${formatSize(n)}` : "log buffer";
    }
    case "func_info":
    case "line_info": {
      const n = count(`${key}_cnt`);
      return n !== undefined ? plural(n, `${key} record`) : `${key} records`;
    }
    case "btf": {
      const n = bytes ?? count("btf_size");
      return n !== undefined ? `BTF blob, ${formatSize(n)}` : "BTF blob";
    }
    case "fd_array":
      return bytes !== undefined ? plural(bytes / 4, "fd") : "fd array";
    case "key":
    case "next_key":
      return map ? `${map.keySize}-byte key of map '${map.name}'` : "the key";
    case "value":
      return map ? `${map.valueSize}-byte value of map '${map.name}'` : "the value";
    case "license":
      return "the license string";
    default:
      return bytes !== undefined ? `${formatSize(bytes)} buffer` : "a buffer in this process";
  }
}
