// Expected values for in-kernel CO-RE checks, read independently of our BTF code:
// `bpftool btf dump file /sys/kernel/btf/vmlinux format raw` and /proc.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface RawStruct {
  id: number;
  size: number;
  members: Map<string, { bitsOffset: number; bitfieldSize: number }>;
}

export interface KernelTruth {
  structs: Map<string, RawStruct>;
  enums: Map<string, Map<string, number>>;
}

/** Parses the STRUCT and ENUM records named in `want` from bpftool's raw dump. */
export function kernelTruth(structs: string[], enums: string[]): KernelTruth {
  const r = spawnSync("bpftool", ["btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "raw"], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`bpftool btf dump failed: ${r.stderr}`);
  const out: KernelTruth = { structs: new Map(), enums: new Map() };
  let cur: { kind: "struct"; s: RawStruct } | { kind: "enum"; m: Map<string, number> } | undefined;
  for (const line of r.stdout.split("\n")) {
    const head = /^\[(\d+)\] (\w+) '([^']*)'.*? size=(\d+)/.exec(line);
    if (head) {
      cur = undefined;
      const [, id, kind, name, size] = head as unknown as [string, string, string, string, string];
      if (kind === "STRUCT" && structs.includes(name) && !out.structs.has(name)) {
        const s: RawStruct = { id: Number(id), size: Number(size), members: new Map() };
        out.structs.set(name, s);
        cur = { kind: "struct", s };
      } else if (kind === "ENUM" && enums.includes(name) && !out.enums.has(name)) {
        const m = new Map<string, number>();
        out.enums.set(name, m);
        cur = { kind: "enum", m };
      }
      continue;
    }
    if (line.startsWith("[")) {
      cur = undefined;
      continue;
    }
    if (!cur) continue;
    if (cur.kind === "struct") {
      const m = /^\s+'([^']*)' type_id=\d+ bits_offset=(\d+)(?: bitfield_size=(\d+))?/.exec(line);
      if (m) cur.s.members.set(m[1] as string, { bitsOffset: Number(m[2]), bitfieldSize: Number(m[3] ?? 0) });
    } else {
      const m = /^\s+'([^']*)' val=(-?\d+)/.exec(line);
      if (m) cur.m.set(m[1] as string, Number(m[2]));
    }
  }
  return out;
}

/** arg_start of this process: field 48 of /proc/self/stat (proc(5)). */
export function selfArgStart(): bigint {
  const stat = readFileSync("/proc/self/stat", "utf8");
  // Fields after the parenthesised comm start at field 3.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return BigInt(rest[48 - 3] as string);
}
