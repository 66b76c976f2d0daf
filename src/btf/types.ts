// The BTF type model shared by the parser, the printer, CO-RE and the map codecs.
// Kind numbers and layouts follow include/uapi/linux/btf.h; the object form is ours.

/** BTF_KIND_* from linux/btf.h. */
export const BTF_KIND = {
  UNKN: 0,
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;

/** The kind of a BTF type, as bpftool names it (lower-case). */
export type BtfKindName =
  | "void"
  | "int"
  | "ptr"
  | "array"
  | "struct"
  | "union"
  | "enum"
  | "fwd"
  | "typedef"
  | "volatile"
  | "const"
  | "restrict"
  | "func"
  | "func_proto"
  | "var"
  | "datasec"
  | "float"
  | "decl_tag"
  | "type_tag"
  | "enum64";

/** Kind names indexed by BTF_KIND_* number; bpftool prints these upper-cased. */
export const BTF_KIND_NAMES: readonly BtfKindName[] = [
  "void",
  "int",
  "ptr",
  "array",
  "struct",
  "union",
  "enum",
  "fwd",
  "typedef",
  "volatile",
  "const",
  "restrict",
  "func",
  "func_proto",
  "var",
  "datasec",
  "float",
  "decl_tag",
  "type_tag",
  "enum64",
];

export interface BtfVoid {
  kind: "void";
  id: 0;
  name: "";
}
export interface BtfInt {
  kind: "int";
  id: number;
  name: string;
  size: number;
  /** BTF_INT_SIGNED / BTF_INT_CHAR / BTF_INT_BOOL */
  signed: boolean;
  char: boolean;
  bool: boolean;
  bitsOffset: number;
  bits: number;
}
export interface BtfPtr {
  kind: "ptr";
  id: number;
  name: string;
  type: number;
}
export interface BtfArray {
  kind: "array";
  id: number;
  name: string;
  type: number;
  indexType: number;
  nelems: number;
}
/** A member of a struct or union. */
export interface BtfMember {
  name: string;
  type: number;
  /** Offset of the member from the start of the struct, in bits. */
  bitOffset: number;
  /** Non-zero for a bitfield (kind_flag set): its width in bits. */
  bitfieldSize: number;
}
export interface BtfComposite {
  kind: "struct" | "union";
  id: number;
  name: string;
  size: number;
  members: BtfMember[];
}
export interface BtfEnumValue {
  name: string;
  value: number;
}
export interface BtfEnum {
  kind: "enum";
  id: number;
  name: string;
  size: number;
  signed: boolean;
  values: BtfEnumValue[];
}
export interface BtfEnum64Value {
  name: string;
  value: bigint;
}
export interface BtfEnum64 {
  kind: "enum64";
  id: number;
  name: string;
  size: number;
  signed: boolean;
  values: BtfEnum64Value[];
}
export interface BtfFwd {
  kind: "fwd";
  id: number;
  name: string;
  /** kind_flag: forward declaration of a union rather than a struct */
  union: boolean;
}
export interface BtfRef {
  kind: "typedef" | "volatile" | "const" | "restrict" | "type_tag";
  id: number;
  name: string;
  type: number;
}
/** BTF_FUNC_STATIC = 0, BTF_FUNC_GLOBAL = 1, BTF_FUNC_EXTERN = 2 */
export interface BtfFunc {
  kind: "func";
  id: number;
  name: string;
  type: number;
  linkage: number;
}
export interface BtfParam {
  name: string;
  type: number;
}
export interface BtfFuncProto {
  kind: "func_proto";
  id: number;
  name: string;
  returnType: number;
  params: BtfParam[];
  /** The last parameter is `...` (encoded as name_off=0, type=0). */
  variadic: boolean;
}
/** BTF_VAR_STATIC = 0, BTF_VAR_GLOBAL_ALLOCATED = 1, BTF_VAR_GLOBAL_EXTERN = 2 */
export interface BtfVar {
  kind: "var";
  id: number;
  name: string;
  type: number;
  linkage: number;
}
export interface BtfVarSecinfo {
  type: number;
  offset: number;
  size: number;
}
export interface BtfDatasec {
  kind: "datasec";
  id: number;
  name: string;
  size: number;
  vars: BtfVarSecinfo[];
}
export interface BtfFloat {
  kind: "float";
  id: number;
  name: string;
  size: number;
}
export interface BtfDeclTag {
  kind: "decl_tag";
  id: number;
  name: string;
  type: number;
  /** -1 when the tag applies to the type itself, else the member/param index */
  componentIdx: number;
}

/** One decoded BTF type, told apart by `kind`. */
export type BtfType =
  | BtfVoid
  | BtfInt
  | BtfPtr
  | BtfArray
  | BtfComposite
  | BtfEnum
  | BtfEnum64
  | BtfFwd
  | BtfRef
  | BtfFunc
  | BtfFuncProto
  | BtfVar
  | BtfDatasec
  | BtfFloat
  | BtfDeclTag;
