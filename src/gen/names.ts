// Names in generated TypeScript: C identifiers become PascalCase type names, and
// property keys are quoted when they are not identifiers ("globals.bss", "rodata.str1.1").

const IDENT = /^[A-Za-z_$][\w$]*$/;

/** `tsbpf_fork_event` → `TsbpfForkEvent`; `globals` → `Globals`. */
export function pascal(name: string): string {
  const parts = name.split(/[^A-Za-z0-9]+/).filter((p) => p !== "");
  const out = parts.map((p) => p[0]?.toUpperCase() + p.slice(1)).join("");
  if (out === "") return "Anon";
  return /^[0-9]/.test(out) ? `_${out}` : out;
}

/** A property name as it must be written in a type or object literal. */
export function propertyKey(name: string): string {
  return IDENT.test(name) ? name : JSON.stringify(name);
}

/** `obj.name` or `obj["a.b"]`. */
export function member(obj: string, name: string): string {
  return IDENT.test(name) ? `${obj}.${name}` : `${obj}[${JSON.stringify(name)}]`;
}
