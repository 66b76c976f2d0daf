// The shape every sub-command module exports. src/cli.ts dispatches on `name`.
import type { CliHost } from "./host.ts";
import type { OptionTable } from "./options.ts";

export interface Command {
  name: string;
  /** One line for `tsbpf --help`. */
  summary: string;
  /** Full help text for `tsbpf <name> --help`. */
  help: string;
  /** The option table the parser uses, with help per option (drives the man page and completions). */
  options?: OptionTable;
  /** Without a table: the parser's node:util parseArgs options. */
  spec?: Readonly<Record<string, { readonly type: "boolean" | "string"; readonly short?: string }>>;
  /**
   * Runs the command with the arguments after its name; resolves to the exit status.
   * `host` is what the CLI entry plugs in (src/cli/host.ts).
   */
  run(args: string[], host: CliHost): Promise<number>;
}
