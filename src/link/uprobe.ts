// uprobe / uretprobe through the uprobe PMU (perf_event_open with the file path in
// config1 and the FILE offset in config2, Linux 4.17+), optionally for one process
// only (perf_event_open's pid), then the program on that perf event. A symbol is turned
// into its file offset with tsbpf's own ELF reader (src/elf/native.ts), from .symtab or
// .dynsym of the executable or shared library, as libbpf's SEC("uprobe/PATH:FUNC[+OFF]").
import { accessSync, constants, existsSync, readFileSync, realpathSync } from "node:fs";
import { delimiter, isAbsolute, resolve } from "node:path";
import { ElfError } from "../elf/errors.ts";
import { fileOffsetOf, isFunctionSymbol, parseNativeElf } from "../elf/native.ts";
import { SyscallError } from "../sys/bpf.ts";
import { perfEventOpenProbe } from "../sys/perf.ts";
import { AttachError, type Link, NotSupportedError } from "./link.ts";
import { attachPerfEventFd } from "./perf-event.ts";
import { probePmu } from "./probe-pmu.ts";

export interface UprobeTarget {
  /** Executable or shared library: a path, a command name found on PATH, or a library name like "libc.so.6". */
  binary: string;
  /** Function symbol; without it `offset` is a file offset. */
  symbol?: string;
  /** Bytes past the symbol, or the file offset when there is no symbol. */
  offset?: number;
  /** Only this process (and its threads) hits the probe; all processes when absent. */
  pid?: number;
  retprobe?: boolean;
  cookie?: bigint;
}

/** "PATH:FUNC", "PATH:FUNC+0x10" or "PATH:0x1234" (libbpf's uprobe SEC() forms) → parts. */
export function parseUprobeTarget(
  s: string,
): { binary: string; symbol?: string; offset: number } | undefined {
  const colon = s.lastIndexOf(":");
  if (colon <= 0) return undefined;
  const binary = s.slice(0, colon);
  const fn = s.slice(colon + 1);
  if (/^(0x[0-9a-fA-F]+|\d+)$/.test(fn)) return { binary, offset: Number(fn) };
  const m = /^([^+\s]+)(?:\+(0x[0-9a-fA-F]+|\d+))?$/.exec(fn);
  if (!m) return undefined;
  return { binary, symbol: m[1], offset: m[2] ? Number(m[2]) : 0 };
}

/** Directories searched for a bare library name (before ld.so's cache, as libbpf does). */
const LIB_DIRS = [
  "/lib/x86_64-linux-gnu",
  "/usr/lib/x86_64-linux-gnu",
  "/lib64",
  "/usr/lib64",
  "/lib",
  "/usr/lib",
  "/usr/local/lib",
];

/** A binary name as given → the absolute path of the file the kernel will probe. */
export function resolveBinary(binary: string, env: NodeJS.ProcessEnv = process.env): string {
  let path: string | undefined;
  if (binary.includes("/")) path = isAbsolute(binary) ? binary : resolve(binary);
  else {
    const isLib = /\.so(\.|$)/.test(binary);
    const dirs = isLib
      ? [...(env.LD_LIBRARY_PATH ?? "").split(delimiter).filter(Boolean), ...LIB_DIRS]
      : (env.PATH ?? "").split(delimiter).filter(Boolean);
    path = dirs
      .map((d) => `${d}/${binary}`)
      .find((p) => {
        try {
          accessSync(p, isLib ? constants.R_OK : constants.X_OK);
          return true;
        } catch {
          return false;
        }
      });
    if (!path)
      throw new AttachError(
        `uprobe: cannot find '${binary}' (searched ${isLib ? `the library directories ${dirs.join(":")}` : "PATH"}); give a path`,
      );
  }
  if (!existsSync(path)) throw new AttachError(`uprobe: ${path} does not exist`);
  return realpathSync(path);
}

/** The file offset of `symbol` (+ `offset`) in the ELF file at `path`. */
export function symbolFileOffset(path: string, symbol: string, offset = 0, bytes?: Uint8Array): number {
  // "malloc@@GLIBC_2.2.5": versions live in .gnu.version, not in the symbol's name.
  const name = symbol.split("@")[0] as string;
  let elf: ReturnType<typeof parseNativeElf>;
  try {
    elf = parseNativeElf(bytes ?? readFileSync(path), path);
  } catch (e) {
    if (e instanceof ElfError) throw new AttachError(`uprobe: ${e.message}`, { cause: e });
    throw e;
  }
  const syms = elf.lookup(name).filter((s) => isFunctionSymbol(s) && s.value !== 0);
  if (syms.length === 0)
    throw new AttachError(`uprobe: ${path} has no function symbol '${name}' in .symtab or .dynsym`);
  // The same function often appears in both tables; aliases share an address. Several
  // addresses: prefer the strong definitions over weak ones (as a dynamic linker would).
  let addrs = [...new Set(syms.map((s) => s.value))];
  if (addrs.length > 1) {
    const strong = [...new Set(syms.filter((s) => s.bind !== 2 /* STB_WEAK */).map((s) => s.value))];
    if (strong.length === 1) addrs = strong;
  }
  if (addrs.length > 1)
    throw new AttachError(
      `uprobe: ${path} defines '${name}' at ${addrs.length} addresses (${addrs.map((a) => `0x${a.toString(16)}`).join(", ")}); give a file offset instead`,
    );
  try {
    return fileOffsetOf(elf, addrs[0] as number) + offset;
  } catch (e) {
    if (e instanceof ElfError) throw new AttachError(`uprobe: ${e.message}`, { cause: e });
    throw e;
  }
}

export function attachUprobe(progFd: number, program: string, t: UprobeTarget): Link {
  const kind = t.retprobe ? "uretprobe" : "uprobe";
  const pmu = probePmu("uprobe");
  if (!pmu)
    throw new NotSupportedError(
      "uprobe",
      `program '${program}': uprobes are not available on this kernel (no uprobe PMU in /sys/bus/event_source/devices: CONFIG_UPROBE_EVENTS is off, or Linux is older than 4.17)`,
    );
  const path = resolveBinary(t.binary);
  const fileOffset = t.symbol ? symbolFileOffset(path, t.symbol, t.offset ?? 0) : (t.offset ?? 0);
  const where = t.symbol
    ? `${t.symbol}${t.offset ? `+0x${t.offset.toString(16)}` : ""}`
    : `0x${fileOffset.toString(16)}`;
  const target = `${path}:${where}${t.pid !== undefined ? ` pid ${t.pid}` : ""}`;
  let pfd: number;
  try {
    pfd = perfEventOpenProbe(
      { type: pmu.type, config: t.retprobe ? 2 ** pmu.retprobeBit : 0, name: path, offset: fileOffset },
      t.pid ?? -1,
      t.pid === undefined ? 0 : -1,
      `${kind} ${target}`,
    );
  } catch (e) {
    if (e instanceof SyscallError && e.code === "ESRCH")
      throw new AttachError(`program '${program}': ${kind} ${target}: no process ${t.pid}`, { cause: e });
    if (e instanceof SyscallError && (e.code === "EINVAL" || e.code === "ENOENT"))
      throw new AttachError(
        `program '${program}': cannot ${kind} ${target} (${e.code}): the offset 0x${fileOffset.toString(16)} is not an instruction in an executable mapping of the file`,
        { cause: e },
      );
    throw e;
  }
  return attachPerfEventFd(progFd, pfd, { kind, program, target, cookie: t.cookie });
}
