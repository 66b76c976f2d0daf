// Resolves a collection's externs against the running kernel (libbpf
// bpf_object__resolve_externs): `.kconfig` variables get their values in the
// .kconfig map's initial contents; `__ksym` variables and functions get the BTF id
// of the kernel's VAR/FUNC of that name (after a type compatibility check, as
// bpf_core_types_are_compat); typeless ksyms (`extern const void x __ksym`) get the
// address from /proc/kallsyms. Unknown non-weak externs are errors; weak ones are 0.
import { readFileSync } from "node:fs";
import { release } from "node:os";
import type { Btf } from "../btf/btf.ts";
import type { CollectionSpec, ExternSpec } from "../spec.ts";
import { typesAreCompat } from "./compat.ts";
import { ExternError } from "./errors.ts";
import { kernelVersionCode, parseKernelConfig, readKernelConfig, setKconfigValue } from "./kconfig.ts";
import { targetLabel } from "./names.ts";

export interface KsymResolution {
  /** BTF id of the kernel VAR/FUNC; 0 for a typeless ksym (see addr). */
  btfId: number;
  /** 0 for vmlinux; module BTF needs the loader to open the module's BTF object (see module). */
  btfObjFd: number;
  kind: "var" | "func";
  /** Typeless ksym: the kernel address from /proc/kallsyms, loaded as a plain ld_imm64. */
  addr?: bigint;
  /** Module whose BTF holds the symbol (btfObjFd must then be that BTF object's fd). */
  module?: string;
}

export interface ExternResolution {
  /** Contents of the .kconfig map, when the object has kconfig externs. */
  kconfig?: Uint8Array;
  ksyms: Map<string, KsymResolution>;
  /** One line per extern for `explain` and load steps: "CONFIG_HZ = 250 (/proc/config.gz)". */
  explain: { name: string; kind: "kconfig" | "ksym"; value: string }[];
}

export interface ResolveExternOptions {
  /** Kernel release (uname -r); defaults to os.release(). */
  release?: string;
  /** Kernel config text; defaults to /proc/config.gz or /boot/config-<release>. */
  config?: string;
  /** /proc/kallsyms text; defaults to reading the file. */
  kallsyms?: string;
  /** Module BTFs to search when vmlinux lacks a ksym, read when first needed (default: none). */
  modules?: { name: string; btf: Btf }[] | (() => { name: string; btf: Btf }[]);
  /**
   * The RUNNING kernel's BTF, where typed ksyms are looked up (default: the `kernel`
   * argument). Their ids go to the kernel as they are (ld_imm64 BPF_PSEUDO_BTF_ID, kfunc
   * calls' imm), so they must be that kernel's even when CO-RE relocates against another
   * target; read only when the object has a typed ksym.
   */
  ksymBtf?: Btf | (() => Btf);
}

/** bpf(2)'s entry point under each architecture's syscall wrapper (arch/<arch>/include/asm/syscall_wrapper.h). */
const SYSCALL_WRAPPERS = ["__x64_sys_bpf", "__arm64_sys_bpf", "__s390x_sys_bpf", "__riscv_sys_bpf"];

/** Names libbpf fills itself instead of reading them from the config. */
function builtin(name: string, rel: string, kernel: Btf): string | undefined {
  const code = kernelVersionCode(rel);
  switch (name) {
    case "LINUX_KERNEL_VERSION":
      return String(code);
    case "LINUX_HAS_BPF_COOKIE":
      // bpf_get_attach_cookie() exists since 5.15 (perf links since 5.15 too).
      return code >= 0x050f00 ? "1" : "0";
    case "LINUX_HAS_SYSCALL_WRAPPER":
      // Syscall entry points are wrapped (pt_regs-taking) when __<arch>_sys_* exist; the
      // target BTF's own architecture decides (a BTFHub file may be another machine's).
      return SYSCALL_WRAPPERS.some((f) => kernel.findByNameKind(f, "func").length > 0) ? "y" : "n";
    default:
      return undefined;
  }
}

function resolveKconfig(
  spec: CollectionSpec,
  kernel: Btf,
  opts: ResolveExternOptions,
  explain: ExternResolution["explain"],
): Uint8Array | undefined {
  const kc = spec.externs.filter((e) => e.kind === "kconfig");
  if (kc.length === 0) return undefined;
  const btf = spec.btf as Btf;
  const map = spec.maps.find((m) => m.globalData?.section === ".kconfig");
  const size = map?.valueSize ?? Math.max(...kc.map((e) => e.offset + e.size));
  const buf = new Uint8Array(size);
  const rel = opts.release ?? release();
  let config: Map<string, string> | undefined;
  let configPath = "kernel config";
  const getConfig = (): Map<string, string> => {
    if (config) return config;
    if (opts.config !== undefined) config = parseKernelConfig(opts.config);
    else {
      const c = readKernelConfig();
      config = c ? parseKernelConfig(c.text) : new Map();
      if (c) configPath = c.path;
      else configPath = `no /proc/config.gz or /boot/config-${rel}`;
    }
    return config;
  };
  for (const e of kc) {
    const b = builtin(e.name, rel, kernel);
    const raw = b ?? getConfig().get(e.name);
    const where = b !== undefined ? `from uname release ${rel}` : configPath;
    if (raw === undefined) {
      if (!e.weak) {
        throw new ExternError(
          `kconfig extern '${e.name}': not set in ${configPath}; declare it __weak to default to 0, or check the kernel configuration`,
        );
      }
      explain.push({ name: e.name, kind: "kconfig", value: `0 (weak, not set in ${configPath})` });
      continue;
    }
    setKconfigValue(btf, e, raw, buf, where);
    explain.push({ name: e.name, kind: "kconfig", value: `${raw} (${where}) at offset ${e.offset}` });
  }
  return buf;
}

function parseKallsyms(text: string, wanted: Set<string>): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of text.split("\n")) {
    const sp2 = line.indexOf(" ", 17);
    if (sp2 < 0) continue;
    const rest = line.slice(sp2 + 1);
    const tab = rest.indexOf("\t");
    const name = tab < 0 ? rest : rest.slice(0, tab);
    if (!wanted.has(name) || out.has(name)) continue;
    const addr = BigInt(`0x${line.slice(0, line.indexOf(" "))}`);
    out.set(name, addr);
  }
  return out;
}

function isTypeless(btf: Btf, e: ExternSpec): boolean {
  const t = btf.type(e.btfId);
  return t.kind === "var" && btf.kind(btf.resolve(t.type)) === "void";
}

function findKernelSym(
  kernel: Btf,
  modules: { name: string; btf: Btf }[],
  name: string,
  kind: "var" | "func",
): { btf: Btf; id: number; module?: string } | undefined {
  const id = kernel.findByNameKind(name, kind)[0];
  if (id !== undefined) return { btf: kernel, id };
  for (const m of modules) {
    const mid = m.btf.findByNameKind(name, kind).find((i) => i >= m.btf.firstId);
    if (mid !== undefined) return { btf: m.btf, id: mid, module: m.name };
  }
  return undefined;
}

/**
 * Resolves `spec`'s externs: kconfig against `kernel` (the load's target), typed ksyms
 * against `opts.ksymBtf` (the running kernel's BTF) when given, typeless ones from kallsyms.
 */
export function resolveExterns(
  spec: CollectionSpec,
  kernel: Btf,
  opts: ResolveExternOptions = {},
): ExternResolution {
  const explain: ExternResolution["explain"] = [];
  const kconfig = resolveKconfig(spec, kernel, opts, explain);
  const ksyms = new Map<string, KsymResolution>();
  const ks = spec.externs.filter((e) => e.kind === "ksym");
  if (ks.length === 0) return { kconfig, ksyms, explain };
  const btf = spec.btf as Btf;
  const typeless = ks.filter((e) => isTypeless(btf, e));
  if (typeless.length > 0) {
    let text = opts.kallsyms;
    if (text === undefined) {
      try {
        text = readFileSync("/proc/kallsyms", "latin1");
      } catch (e) {
        throw new ExternError(
          `typeless ksym '${typeless[0]?.name}': cannot read /proc/kallsyms: ${(e as Error).message}`,
        );
      }
    }
    const addrs = parseKallsyms(text, new Set(typeless.map((e) => e.name)));
    for (const e of typeless) {
      const addr = addrs.get(e.name);
      if (addr === undefined || addr === 0n) {
        if (e.weak) {
          explain.push({ name: e.name, kind: "ksym", value: "0 (weak, not in /proc/kallsyms)" });
          continue;
        }
        throw new ExternError(
          addr === 0n
            ? `ksym '${e.name}': /proc/kallsyms shows address 0 (run as root, or kernel.kptr_restrict hides addresses)`
            : `ksym '${e.name}': not found in /proc/kallsyms`,
        );
      }
      ksyms.set(e.name, { btfId: 0, btfObjFd: 0, kind: "var", addr });
      explain.push({ name: e.name, kind: "ksym", value: `address 0x${addr.toString(16)} (/proc/kallsyms)` });
    }
  }
  let modules: { name: string; btf: Btf }[] | undefined =
    typeof opts.modules === "function" ? undefined : opts.modules;
  const typed = ks.filter((e) => !typeless.includes(e));
  const running =
    typed.length === 0
      ? kernel
      : typeof opts.ksymBtf === "function"
        ? opts.ksymBtf()
        : (opts.ksymBtf ?? kernel);
  for (const e of typed) {
    const local = btf.type(e.btfId);
    const kind = local.kind === "func" ? "func" : "var";
    let found = findKernelSym(running, [], e.name, kind);
    if (!found) {
      modules ??= typeof opts.modules === "function" ? opts.modules() : [];
      found = findKernelSym(running, modules, e.name, kind);
    }
    if (!found) {
      if (e.weak) {
        explain.push({
          name: e.name,
          kind: "ksym",
          value: `unresolved (weak): no ${kind.toUpperCase()} in ${targetLabel(running)}`,
        });
        continue;
      }
      throw new ExternError(
        kind === "func"
          ? `ksym function '${e.name}': no kfunc of that name in ${targetLabel(running)}`
          : `ksym variable '${e.name}': no BTF VAR of that name in ${targetLabel(running)} (per-CPU variables only; declare it typeless \`extern const void ${e.name} __ksym\` to use its address)`,
      );
    }
    // Compare the declared type (var's type, or the func's prototype) with the kernel's.
    const lt = (local as { type: number }).type;
    const tt = (found.btf.type(found.id) as { type: number }).type;
    if (!typesAreCompat(btf, btf.resolve(lt), found.btf, found.btf.resolve(tt))) {
      if (e.weak) {
        explain.push({
          name: e.name,
          kind: "ksym",
          value: "unresolved (weak): type differs from the kernel's",
        });
        continue;
      }
      throw new ExternError(
        `ksym ${kind === "func" ? "function" : "variable"} '${e.name}': its declared type is incompatible with the kernel's [${found.id}]`,
      );
    }
    const res: KsymResolution = { btfId: found.id, btfObjFd: 0, kind };
    if (found.module) res.module = found.module;
    ksyms.set(e.name, res);
    explain.push({
      name: e.name,
      kind: "ksym",
      value: `${kind === "func" ? "kfunc" : "var"} btf id ${found.id}${found.module ? ` in module ${found.module}` : " in vmlinux"}`,
    });
  }
  return { kconfig, ksyms, explain };
}
