// Kernel UAPI constants shared by the pure parsers and the syscall layer, named as in
// include/uapi/linux/bpf.h so a reader can cross-check them. Pure data: no koffi here.
// The enums (bpf_cmd, bpf_map_type, ..., the anonymous flag enums) and the bpf_attr
// layouts are generated from the kernel's BTF into uapi.gen.ts (scripts/gen-uapi.ts);
// what BTF cannot carry, bpf.h's #defines, is written out below and checked against the
// installed header (test/sys/uapi-oracle.test.ts).
import { bpf_attach_type, bpf_cmd, bpf_link_type, bpf_map_type, bpf_prog_type } from "./uapi.gen.ts";

export * from "./uapi.gen.ts";

/** `obj`'s entries whose key starts with `prefix`, keyed without it (BPF_MAP_TYPE_HASH -> HASH). */
export function withoutPrefix<P extends string, T extends Record<string, number>>(
  obj: T,
  prefix: P,
): { readonly [K in keyof T as K extends `${P}${infer R}` ? R : never]: T[K] } {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(obj)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  return out as never;
}

/** value -> name; the first of aliases wins (BPF_PROG_TEST_RUN over BPF_PROG_RUN), *_DEPRECATED never. */
function namesOf(
  obj: Record<string, number>,
  name: (k: string) => string = (k) => k,
): Record<number, string> {
  const out: Record<number, string> = {};
  for (const [k, v] of Object.entries(obj)) if (!k.endsWith("_DEPRECATED") && !(v in out)) out[v] = name(k);
  return out;
}

export const BPF_CMD_NAMES: Record<number, string> = namesOf(bpf_cmd);

/** enum bpf_map_type without its BPF_MAP_TYPE_ prefix. */
export const BPF_MAP_TYPE = withoutPrefix(bpf_map_type, "BPF_MAP_TYPE_");
/** Map type names as bpftool prints them (hash, ringbuf). */
export const BPF_MAP_TYPE_NAMES: Record<number, string> = namesOf(BPF_MAP_TYPE, (k) => k.toLowerCase());

/** enum bpf_prog_type without its BPF_PROG_TYPE_ prefix. */
export const BPF_PROG_TYPE = withoutPrefix(bpf_prog_type, "BPF_PROG_TYPE_");
export const BPF_PROG_TYPE_NAMES: Record<number, string> = namesOf(BPF_PROG_TYPE, (k) => k.toLowerCase());

/** enum bpf_attach_type (names keep their BPF_ prefix, as in bpf.h). */
export const BPF_ATTACH_TYPE = bpf_attach_type;

/** enum bpf_link_type without its BPF_LINK_TYPE_ prefix. */
export const BPF_LINK_TYPE = withoutPrefix(bpf_link_type, "BPF_LINK_TYPE_");

/** BPF_PROG_ATTACH / BPF_LINK_CREATE flags (mprog ordering is 6.6+; BPF_F_LINK is generated). */
export const BPF_F_ALLOW_OVERRIDE = 1 << 0;
export const BPF_F_ALLOW_MULTI = 1 << 1;
export const BPF_F_REPLACE = 1 << 2;
export const BPF_F_BEFORE = 1 << 3;
export const BPF_F_AFTER = 1 << 4;
export const BPF_F_ID = 1 << 5;

/** XDP attach flags (include/uapi/linux/if_link.h): link_create.flags and IFLA_XDP_FLAGS. */
export const XDP_FLAGS_UPDATE_IF_NOEXIST = 1 << 0;
export const XDP_FLAGS_SKB_MODE = 1 << 1;
export const XDP_FLAGS_DRV_MODE = 1 << 2;
export const XDP_FLAGS_HW_MODE = 1 << 3;
export const XDP_FLAGS_REPLACE = 1 << 4;

/** BPF_PROG_LOAD prog_flags bit for xdp.frags programs. */
export const BPF_F_XDP_HAS_FRAGS = 1 << 5;

/** BPF_PROG_LOAD prog_flags */
export const BPF_F_STRICT_ALIGNMENT = 1 << 0;
export const BPF_F_ANY_ALIGNMENT = 1 << 1;
export const BPF_F_TEST_RND_HI32 = 1 << 2;
export const BPF_F_SLEEPABLE = 1 << 4;

/** src_reg values of ld_imm64 / call that tell the kernel what imm means. */
export const BPF_PSEUDO_MAP_FD = 1;
export const BPF_PSEUDO_MAP_VALUE = 2;
export const BPF_PSEUDO_BTF_ID = 3;
export const BPF_PSEUDO_FUNC = 4;
export const BPF_PSEUDO_MAP_IDX = 5;
export const BPF_PSEUDO_MAP_IDX_VALUE = 6;
export const BPF_PSEUDO_CALL = 1;
export const BPF_PSEUDO_KFUNC_CALL = 2;

/** Instruction classes and fields (include/uapi/linux/bpf_common.h, bpf.h). */
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_JMP32 = 0x06;
export const BPF_ALU64 = 0x07;
export const BPF_CALL = 0x80;
export const BPF_EXIT = 0x90;
export const BPF_IMM = 0x00;
export const BPF_MEM = 0x60;
export const BPF_MEMSX = 0x80;
export const BPF_ATOMIC = 0xc0;
export const BPF_DW = 0x18;
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
/** ld_imm64's opcode byte: BPF_LD | BPF_IMM | BPF_DW. */
export const BPF_LD_IMM64 = 0x18;

/** Instruction field masks and the remaining opcode constants (bpf_common.h, bpf.h). */
export const BPF_CLASS_MASK = 0x07;
export const BPF_SIZE_MASK = 0x18;
export const BPF_MODE_MASK = 0xe0;
export const BPF_OP_MASK = 0xf0;
export const BPF_SRC_MASK = 0x08;
export const BPF_ABS = 0x20;
export const BPF_IND = 0x40;
export const BPF_K = 0x00;
export const BPF_X = 0x08;
/** ALU operations (BPF_OP of BPF_ALU/BPF_ALU64). */
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;
export const BPF_MOV = 0xb0;
export const BPF_ARSH = 0xc0;
export const BPF_END = 0xd0;
/** Byte-order conversion source bit of BPF_END (BPF_ALU64 | BPF_END is the unconditional bswap). */
export const BPF_TO_LE = 0x00;
export const BPF_TO_BE = 0x08;
export const BPF_FROM_LE = BPF_TO_LE;
export const BPF_FROM_BE = BPF_TO_BE;
/** Jump operations (BPF_OP of BPF_JMP/BPF_JMP32). */
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;
export const BPF_JNE = 0x50;
export const BPF_JSGT = 0x60;
export const BPF_JSGE = 0x70;
export const BPF_JLT = 0xa0;
export const BPF_JLE = 0xb0;
export const BPF_JSLT = 0xc0;
export const BPF_JSLE = 0xd0;
export const BPF_JCOND = 0xe0;
/** src_reg of BPF_JMP | BPF_JCOND: the may_goto instruction. */
export const BPF_MAY_GOTO = 0;
/** Atomic operations: imm of BPF_STX | BPF_ATOMIC. */
export const BPF_FETCH = 0x01;
export const BPF_XCHG = 0xe0 | BPF_FETCH;
export const BPF_CMPXCHG = 0xf0 | BPF_FETCH;
export const BPF_LOAD_ACQ = 0x100;
export const BPF_STORE_REL = 0x110;
/** Size of one struct bpf_insn in bytes. */
export const BPF_INSN_SIZE = 8;
