// Option tables: one description per flag, from which the parser spec (node:util
// parseArgs), the help text, the man page and the shell completions are all made, so
// none of them can forget a flag the parser knows.

export interface OptionSpec {
  name: string;
  short?: string;
  type: "boolean" | "string";
  /** Placeholder for the value in help ("FILE"). */
  arg?: string;
  /** The accepted values when they are a fixed list (completion offers them). */
  values?: readonly string[];
  /** What the shell should complete the value with. */
  complete?: "file" | "dir";
  help: string;
}

/** A heading that starts a group of options in help and the man page. */
export interface OptionGroup {
  group: string;
}

export type OptionTable = readonly (OptionSpec | OptionGroup)[];

export const isOption = (o: OptionSpec | OptionGroup): o is OptionSpec => "name" in o;

/** The node:util parseArgs options for a table. */
export function parserSpec(
  table: OptionTable,
): Record<string, { type: "boolean" | "string"; short?: string }> {
  const spec: Record<string, { type: "boolean" | "string"; short?: string }> = {};
  for (const o of table) {
    if (!isOption(o)) continue;
    spec[o.name] = o.short ? { type: o.type, short: o.short } : { type: o.type };
  }
  return spec;
}

/** "  -o, --output FILE" as help shows it. */
export function optionLabel(o: OptionSpec): string {
  const long = `--${o.name}${o.type === "string" ? ` ${o.arg ?? "VALUE"}` : ""}`;
  return o.short ? `-${o.short}, ${long}` : `    ${long}`;
}

/** The options part of a command's help: groups, then one aligned line (or two) per option. */
export function renderOptionsHelp(table: OptionTable, withHelp = true): string {
  const rows: string[] = [];
  const helpOpt: OptionSpec = { name: "help", short: "h", type: "boolean", help: "show this help" };
  const all: OptionTable = withHelp ? [...table, helpOpt] : table;
  const width = Math.max(...all.filter(isOption).map((o) => optionLabel(o).length)) + 2;
  for (const o of all) {
    if (!isOption(o)) {
      rows.push(`${o.group}:`);
      continue;
    }
    const label = `  ${optionLabel(o)}`;
    const indent = " ".repeat(width + 2);
    const text = wrap(o.help, 80 - indent.length).join(`\n${indent}`);
    rows.push(
      label.length < indent.length ? `${label.padEnd(indent.length)}${text}` : `${label}\n${indent}${text}`,
    );
  }
  return rows.join("\n");
}

/** Words of `text` in lines of at most `cols` characters (a longer word gets a line of its own). */
export function wrap(text: string, cols: number): string[] {
  const lines: string[] = [];
  let cur = "";
  for (const w of text.split(" ")) {
    if (cur && cur.length + 1 + w.length > cols) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines;
}
