// `tsbpf inspect FILE`: describe a BPF object (ELF) or a raw BTF file such as
// /sys/kernel/btf/vmlinux, told apart by their magic numbers; `--type NAME` prints one
// struct or union of its BTF laid out as pahole does. No kernel access.
import { existsSync } from "node:fs";
import { Btf } from "../btf/btf.ts";
import { findAggregate, structLayout } from "../btf/struct-layout.ts";
import { renderStructLayout } from "../btf/struct-layout-text.ts";
import { readCollectionSpec } from "../elf/collection.ts";
import { describeBtf, describeCollection } from "../elf/describe.ts";
import { renderBtfText, renderDisasm, renderObjectText, safe } from "../elf/describe-text.ts";
import { TsbpfError, UsageError } from "../errors.ts";
import { BINARY_MAX_BYTES, InputFileError, readInputFile } from "../input-file.ts";
import type { ObjectFiles } from "../loader/spec-file.ts";
import { parseCommandArgs } from "./args.ts";
import type { Command } from "./command.ts";
import { type CliHost, plainHost } from "./host.ts";
import { closest } from "./suggest.ts";

const help = `Usage: tsbpf inspect FILE [--disasm] [--json] [--type NAME]

Describe a BPF object file (ELF, as built by clang -target bpf) or a raw BTF
file (e.g. /sys/kernel/btf/vmlinux). Reads the file only: needs no privileges.
FILE 'vmlinux' is the running kernel's BTF (/sys/kernel/btf/vmlinux); a module's
/sys/kernel/btf/MODULE is read on top of it.

For an object: its programs (section, type, attach target, size), maps, global
variables, externs, relocations, CO-RE records, license and BTF summary.
For raw BTF: the type count and the count of each kind.

Options:
      --disasm     also print each function's instructions, with relocation
                   targets, CO-RE records and source lines from line_info
      --type NAME  print one struct or union laid out as pahole does
                   (each member's offset and size in bytes, bitfields as
                   offset:bit, holes, cache lines, padding and the total
                   size); a typedef of one works too, and 'struct NAME' or
                   'union NAME' picks the kind
      --json       print one JSON object instead of text
  -h, --help       show this help

Examples:
  tsbpf inspect bpf/process.bpf.o --disasm
  tsbpf inspect /sys/kernel/btf/vmlinux --json
  tsbpf inspect vmlinux --type task_struct
  tsbpf inspect bpf/process.bpf.o --type event`;

/** ELF: 7f 'E' 'L' 'F'; BTF: magic 0xeb9f stored little-endian (btf_header.magic). */
function kindOf(bytes: Uint8Array): "elf" | "btf" | undefined {
  if (bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) return "elf";
  if (bytes[0] === 0x9f && bytes[1] === 0xeb) return "btf";
  return undefined;
}

const KERNEL_BTF = "/sys/kernel/btf";

function readInput(path: string, files: ObjectFiles): Uint8Array {
  // The running kernel's BTF by its short name, unless a file of that name is here.
  if (path === "vmlinux" && !existsSync(path)) path = `${KERNEL_BTF}/vmlinux`;
  try {
    return new Uint8Array(readInputFile(path, { what: "file", maxBytes: BINARY_MAX_BYTES }));
  } catch (e) {
    if (e instanceof InputFileError && e.code === undefined)
      throw new TsbpfError(`inspect: cannot read ${safe(path)}: ${e.reason}`);
    const code = e instanceof InputFileError ? e.code : (e as NodeJS.ErrnoException).code;
    // A bare name that is not a file (or embedded:NAME): the object inside the binary.
    if (code === "ENOENT" && !path.includes("/")) return new Uint8Array(files.read(path).bytes);
    const why: Record<string, string> = {
      ENOENT: "no such file",
      EACCES: "permission denied",
      EISDIR: "is a directory, expected a file",
    };
    throw new TsbpfError(`inspect: cannot read ${safe(path)}: ${why[code ?? ""] ?? code ?? String(e)}`);
  }
}

/** The parser's options (also what the man page and completions list). */
const OPTIONS = {
  disasm: { type: "boolean", default: false },
  json: { type: "boolean", default: false },
  type: { type: "string" },
} as const;

/** The BTF of FILE: raw BTF (a module's split BTF on top of vmlinux) or an object's .BTF. */
function btfOf(path: string, bytes: Uint8Array, kind: "elf" | "btf"): Btf {
  if (kind === "elf") {
    const spec = readCollectionSpec(bytes, safe(path));
    if (!spec.btf)
      throw new TsbpfError(`${safe(path)}: the object has no .BTF section (build it with clang -g)`);
    return spec.btf;
  }
  // Split BTF (a kernel module's) numbers its types after its base's: read vmlinux under it.
  if (isModuleBtf(path)) {
    const vmlinux = readInputFile(`${KERNEL_BTF}/vmlinux`, { what: "file", maxBytes: BINARY_MAX_BYTES });
    const base = Btf.parse(new Uint8Array(vmlinux), { name: `${KERNEL_BTF}/vmlinux` });
    return Btf.parse(bytes, { name: safe(path), base });
  }
  return Btf.parse(bytes, { name: safe(path) });
}

function isModuleBtf(path: string): boolean {
  return path.startsWith(`${KERNEL_BTF}/`) && path !== `${KERNEL_BTF}/vmlinux`;
}

/** `--type NAME`: one struct/union laid out, or a usage error naming what NAME is instead. */
function printType(path: string, btf: Btf, name: string, json: boolean): void {
  const found = findAggregate(btf, name);
  if (found === undefined) {
    const names = [...btfNames(btf)];
    const guess = closest(name.replace(/^(struct|union)\s+/, ""), names);
    throw new UsageError(
      `inspect: --type ${safe(name)}: no struct or union of that name in ${safe(path)}${guess ? ` (did you mean ${guess}?)` : ""}`,
    );
  }
  if ("other" in found)
    throw new UsageError(
      `inspect: --type ${safe(name)}: in ${safe(path)} that is ${/^[aeiou]/.test(found.other) ? "an" : "a"} ${found.other}, not a struct or union`,
    );
  const layout = structLayout(btf, found.id);
  process.stdout.write(
    json ? `${JSON.stringify({ file: path, type: layout })}\n` : `${renderStructLayout(layout)}\n`,
  );
}

/** Names of the struct and union types (for a "did you mean"). */
function* btfNames(btf: Btf): Generator<string> {
  for (let id = 1; id < btf.length; id++) {
    const k = btf.kind(id);
    if (k === "struct" || k === "union") {
      const n = btf.nameOf(id);
      if (n) yield n;
    }
  }
}

const command: Command = {
  name: "inspect",
  summary: "describe a BPF object or a BTF file",
  help,
  spec: OPTIONS,
  async run(args: string[], host: CliHost = plainHost): Promise<number> {
    const { values, positionals } = parseCommandArgs("inspect", args, OPTIONS);
    if (positionals.length !== 1)
      throw new UsageError("inspect: expected exactly one FILE (see 'tsbpf inspect --help')");
    const path = positionals[0] as string;
    const bytes = readInput(path, host.files);
    const kind = kindOf(bytes);
    if (kind === undefined) {
      const head = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
      throw new TsbpfError(
        `${safe(path)}: neither a BPF object nor raw BTF: starts with ${head || "(empty file)"}, expected 7f 45 4c 46 (ELF) or 9f eb (BTF magic 0xeb9f)`,
      );
    }
    if (values.type !== undefined) {
      if (values.disasm) throw new UsageError("inspect: --type and --disasm do not go together");
      printType(path, btfOf(path, bytes, kind), values.type, values.json);
      return 0;
    }
    if (kind === "btf") {
      const desc = describeBtf(Btf.parse(bytes, { name: safe(path) }));
      if (values.disasm) throw new UsageError("inspect: --disasm needs a BPF object, not raw BTF");
      process.stdout.write(
        values.json ? `${JSON.stringify({ file: path, btf: desc })}\n` : `${renderBtfText(path, desc)}\n`,
      );
      return 0;
    }
    const spec = readCollectionSpec(bytes, safe(path));
    const desc = describeCollection(spec);
    if (values.json) {
      process.stdout.write(`${JSON.stringify(desc)}\n`);
      return 0;
    }
    let text = renderObjectText(desc);
    if (values.disasm) text += `\n\nDisassembly:${renderDisasm(spec)}`;
    process.stdout.write(`${text}\n`);
    return 0;
  },
};

export default command;
