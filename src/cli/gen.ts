// `tsbpf gen OBJ [-o FILE]`: typed TypeScript bindings for a BPF object (src/gen).
// Reads the object only: needs no privileges and no kernel.
import { writeFileSync } from "node:fs";
import { readCollectionSpec } from "../elf/collection.ts";
import { TsbpfError, UsageError } from "../errors.ts";
import { generateBindings } from "../gen/bindings.ts";
import { parseCommandArgs } from "./args.ts";
import type { Command } from "./command.ts";
import { type CliHost, plainHost } from "./host.ts";

const help = `Usage: tsbpf gen OBJ [-o FILE] [--name NAME] [--no-embed | --types-only] [--import-from MOD]

Write a TypeScript module with typed bindings for the BPF object OBJ (like bpf2go or
bpftool gen skeleton): a type, a decoder and a size for every struct and union the
object declares (ring-buffer records, map keys and values, globals), a constant per
named enum, the object's programs, maps and global variables as a typed collection,
and load<Name>(), which loads the object (embedded in the module) and returns it.
A misspelt program or map name is then a type error.

Options:
  -o, --output FILE    write to FILE (default: standard output)
      --name NAME      base of the generated names (default: OBJ's file name up to
                       its first dot: process.bpf.o gives loadProcess, ProcessObjects)
      --no-embed       do not embed the object: load<Name>(object, opts) takes it
      --types-only     only the struct types, decoders and enums (no loader, no import)
      --import-from M  import tsbpf from module M (default "tsbpf")
  -h, --help           show this help

Example:
  tsbpf gen counter.bpf.o -o src/counter.gen.ts
  # then: const objs = await loadCounter(); objs.programs.count_execs.attach();`;

/** The parser's options (also what the man page and completions list). */
const OPTIONS = {
  output: { type: "string", short: "o" },
  name: { type: "string" },
  "no-embed": { type: "boolean", default: false },
  "types-only": { type: "boolean", default: false },
  "import-from": { type: "string" },
} as const;

const command: Command = {
  name: "gen",
  summary: "generate typed TypeScript bindings for a BPF object",
  help,
  spec: OPTIONS,
  async run(args: string[], host: CliHost = plainHost): Promise<number> {
    const { values, positionals } = parseCommandArgs("gen", args, OPTIONS);
    if (positionals.length !== 1)
      throw new UsageError("gen: expected exactly one OBJ (see 'tsbpf gen --help')");
    if (values["no-embed"] && values["types-only"])
      throw new UsageError("gen: --no-embed and --types-only exclude each other");
    if (values.name !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(values.name))
      throw new UsageError(`gen: --name must be an identifier (letters, digits, _), got '${values.name}'`);
    const { bytes, path } = host.files.read(positionals[0] as string);
    const spec = readCollectionSpec(bytes, path);
    const text = generateBindings(spec, bytes, {
      name: values.name,
      importFrom: values["import-from"],
      mode: values["types-only"] ? "types" : values["no-embed"] ? "argument" : "embed",
    });
    if (values.output === undefined) {
      process.stdout.write(text);
      return 0;
    }
    try {
      writeFileSync(values.output, text);
    } catch (e) {
      throw new TsbpfError(`gen: cannot write ${values.output}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
    return 0;
  },
};

export default command;
