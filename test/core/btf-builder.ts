// Hand-built BTF for resolver tests: a tiny DSL over BtfType objects, encoded with
// encodeBtf and parsed back, so the resolver sees real Btf instances.
import { Btf } from "../../src/btf/btf.ts";
import { encodeBtf } from "../../src/btf/encode.ts";
import type { BtfMember, BtfType } from "../../src/btf/types.ts";

type Distribute<T> = T extends unknown ? Omit<T, "id"> : never;
export type TypeDef = Distribute<Exclude<BtfType, { kind: "void" }>>;

export class BtfBuilder {
  private readonly types: BtfType[] = [];
  add(t: TypeDef): number {
    const id = this.types.length + 1;
    this.types.push({ ...t, id } as BtfType);
    return id;
  }
  int(name: string, size: number, signed = false): number {
    return this.add({
      kind: "int",
      name,
      size,
      signed,
      char: false,
      bool: false,
      bitsOffset: 0,
      bits: size * 8,
    });
  }
  ptr(type: number): number {
    return this.add({ kind: "ptr", name: "", type });
  }
  array(type: number, nelems: number, indexType: number): number {
    return this.add({ kind: "array", name: "", type, indexType, nelems });
  }
  /** Members laid out as given: [name, type, bitOffset, bitfieldSize?]. */
  struct(
    name: string,
    size: number,
    members: [string, number, number, number?][],
    kind: "struct" | "union" = "struct",
  ): number {
    const ms: BtfMember[] = members.map(([n, type, bitOffset, bitfieldSize]) => ({
      name: n,
      type,
      bitOffset,
      bitfieldSize: bitfieldSize ?? 0,
    }));
    return this.add({ kind, name, size, members: ms });
  }
  enum(name: string, values: [string, number][], signed = false, size = 4): number {
    return this.add({
      kind: "enum",
      name,
      size,
      signed,
      values: values.map(([n, value]) => ({ name: n, value })),
    });
  }
  typedef(name: string, type: number): number {
    return this.add({ kind: "typedef", name, type });
  }
  build(name: string): Btf {
    return Btf.parse(encodeBtf(this.types), { name });
  }
}
