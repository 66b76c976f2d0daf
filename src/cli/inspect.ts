// `tsbpf inspect FILE`: describe a BPF object (ELF) or a raw BTF file such as
// /sys/kernel/btf/vmlinux, told apart by their magic numbers. No kernel access.
import { readObjectFile } from "../assets.ts";
import { Btf } from "../btf/btf.ts";
import { readCollectionSpec } from "../elf/collection.ts";
import { describeBtf, describeCollection } from "../elf/describe.ts";
import { renderBtfText, renderDisasm, renderObjectText, safe } from "../elf/describe-text.ts";
import { TsbpfError, UsageError } from "../errors.ts";
import { BINARY_MAX_BYTES, InputFileError, readInputFile } from "../input-file.ts";
import { parseCommandArgs } from "./args.ts";
import type { Command } from "./command.ts";

const help = `Usage: tsbpf inspect FILE [--disasm] [--json]

Describe a BPF object file (ELF, as built by clang -target bpf) or a raw BTF
file (e.g. /sys/kernel/btf/vmlinux). Reads the file only: needs no privileges.

For an object: its programs (section, type, attach target, size), maps, global
variables, externs, relocations, CO-RE records, license and BTF summary.
For raw BTF: the type count and the count of each kind.

Options:
      --disasm   also print each function's instructions, with relocation
                 targets, CO-RE records and source lines from line_info
      --json     print one JSON object instead of text
  -h, --help     show this help

Examples:
  tsbpf inspect bpf/process.bpf.o --disasm
  tsbpf inspect /sys/kernel/btf/vmlinux --json`;

/** ELF: 7f 'E' 'L' 'F'; BTF: magic 0xeb9f stored little-endian (btf_header.magic). */
function kindOf(bytes: Uint8Array): "elf" | "btf" | undefined {
  if (bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) return "elf";
  if (bytes[0] === 0x9f && bytes[1] === 0xeb) return "btf";
  return undefined;
}

function readInput(path: string): Uint8Array {
  try {
    return new Uint8Array(readInputFile(path, { what: "file", maxBytes: BINARY_MAX_BYTES }));
  } catch (e) {
    if (e instanceof InputFileError && e.code === undefined)
      throw new TsbpfError(`inspect: cannot read ${safe(path)}: ${e.reason}`);
    const code = e instanceof InputFileError ? e.code : (e as NodeJS.ErrnoException).code;
    // A bare name that is not a file (or embedded:NAME): the object inside the binary.
    if (code === "ENOENT" && !path.includes("/")) return new Uint8Array(readObjectFile(path).bytes);
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
} as const;

const command: Command = {
  name: "inspect",
  summary: "describe a BPF object or a BTF file",
  help,
  spec: OPTIONS,
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parseCommandArgs("inspect", args, OPTIONS);
    if (positionals.length !== 1)
      throw new UsageError("inspect: expected exactly one FILE (see 'tsbpf inspect --help')");
    const path = positionals[0] as string;
    const bytes = readInput(path);
    const kind = kindOf(bytes);
    if (kind === undefined) {
      const head = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
      throw new TsbpfError(
        `${safe(path)}: neither a BPF object nor raw BTF: starts with ${head || "(empty file)"}, expected 7f 45 4c 46 (ELF) or 9f eb (BTF magic 0xeb9f)`,
      );
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
