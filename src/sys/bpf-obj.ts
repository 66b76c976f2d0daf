// Object commands of bpf(2): pin/get, ids, fds by id, and BPF_OBJ_GET_INFO_BY_FD with
// decoders for struct bpf_prog_info / bpf_map_info / bpf_link_info / bpf_btf_info.
import { bpf_attr, bpf_link_info, bpf_map_info, bpf_prog_info } from "../uapi.gen.ts";
import * as U from "../uapi.ts";
import { cString } from "./bpf-attr.ts";
import { bpf, bpfError, bpfTry, newAttr as newAttrBuf } from "./bpf-core.ts";
import { ERRNO, SyscallError } from "./errors.ts";
import { sys } from "./syscalls.ts";

const OBJ = bpf_attr["BPF_OBJ_*"];
const ID = bpf_attr["BPF_*_GET_*_ID"];
const INFO = bpf_attr.info;

/** BPF_OBJ_PIN: pin `fd` at `path` (inside a bpffs). */
export function objPin(fd: number, path: string): void {
  const attr = newAttrBuf();
  const dv = new DataView(attr.buffer);
  const p = cString(path);
  dv.setBigUint64(OBJ.pathname[0], sys.address_of(p), true);
  dv.setUint32(OBJ.bpf_fd[0], fd, true);
  bpf(U.BPF_OBJ_PIN, attr, { what: `at ${path}`, fields: { pathname: path, bpf_fd: fd } });
}

/** BPF_OBJ_GET: open the object pinned at `path` → fd. file_flags: BPF_F_RDONLY/WRONLY. */
export function objGet(path: string, fileFlags = 0): number {
  const attr = newAttrBuf();
  const dv = new DataView(attr.buffer);
  const p = cString(path);
  dv.setBigUint64(OBJ.pathname[0], sys.address_of(p), true);
  dv.setUint32(OBJ.file_flags[0], fileFlags, true);
  return bpf(U.BPF_OBJ_GET, attr, {
    what: `at ${path}`,
    fields: { pathname: path, file_flags: fileFlags },
  });
}

type IdKind = "prog" | "map" | "btf" | "link";
const NEXT_ID: Record<IdKind, number> = {
  prog: U.BPF_PROG_GET_NEXT_ID,
  map: U.BPF_MAP_GET_NEXT_ID,
  btf: U.BPF_BTF_GET_NEXT_ID,
  link: U.BPF_LINK_GET_NEXT_ID,
};
const FD_BY_ID: Record<IdKind, number> = {
  prog: U.BPF_PROG_GET_FD_BY_ID,
  map: U.BPF_MAP_GET_FD_BY_ID,
  btf: U.BPF_BTF_GET_FD_BY_ID,
  link: U.BPF_LINK_GET_FD_BY_ID,
};

/** BPF_*_GET_NEXT_ID: the id after `startId`, or undefined at the end. */
export function getNextId(kind: IdKind, startId: number): number | undefined {
  const attr = newAttrBuf();
  const dv = new DataView(attr.buffer);
  dv.setUint32(ID.start_id[0], startId, true);
  const r = bpfTry(NEXT_ID[kind], attr);
  if (r === -ERRNO.ENOENT) return undefined;
  if (r < 0) throw bpfError(NEXT_ID[kind], attr, -r, undefined);
  return dv.getUint32(ID.next_id[0], true);
}

/** Every id of a kind currently in the kernel. */
export function listIds(kind: IdKind): number[] {
  const ids: number[] = [];
  let id = 0;
  for (;;) {
    const next = getNextId(kind, id);
    if (next === undefined) return ids;
    ids.push(next);
    id = next;
  }
}

/** BPF_*_GET_FD_BY_ID → fd. */
export function getFdById(kind: IdKind, id: number, openFlags = 0): number {
  const attr = newAttrBuf();
  const dv = new DataView(attr.buffer);
  dv.setUint32(ID.start_id[0], id, true);
  dv.setUint32(ID.open_flags[0], openFlags, true);
  return bpf(FD_BY_ID[kind], attr, { what: `${kind} id ${id}` });
}

function nameAt(b: Uint8Array, off: number): string {
  const raw = b.subarray(off, off + 16);
  const end = raw.indexOf(0);
  return new TextDecoder().decode(end < 0 ? raw : raw.subarray(0, end));
}

/** Raw BPF_OBJ_GET_INFO_BY_FD into a buffer of `size` bytes. */
export function objGetInfoRaw(fd: number, size: number): Uint8Array {
  const info = new Uint8Array(new ArrayBuffer(size));
  const attr = newAttrBuf();
  const dv = new DataView(attr.buffer);
  dv.setUint32(INFO.bpf_fd[0], fd, true);
  dv.setUint32(INFO.info_len[0], size, true);
  dv.setBigUint64(INFO.info[0], sys.address_of(info), true);
  bpf(U.BPF_OBJ_GET_INFO_BY_FD, attr, { fields: { bpf_fd: fd, info_len: size } });
  return info.subarray(0, Math.min(size, dv.getUint32(INFO.info_len[0], true)));
}

/** struct bpf_map_info (linux/bpf.h), the fields tsbpf uses. */
export interface MapInfo {
  type: number;
  id: number;
  key_size: number;
  value_size: number;
  max_entries: number;
  map_flags: number;
  name: string;
  btf_id: number;
  btf_key_type_id: number;
  btf_value_type_id: number;
  map_extra: bigint;
}

/** Bytes of struct bpf_map_info up to the last field read (map_extra, 5.16+). */
const MAP_INFO_SIZE = bpf_map_info.map_extra[0] + 8;

export function mapInfo(fd: number): MapInfo {
  const M = bpf_map_info;
  const b = objGetInfoRaw(fd, MAP_INFO_SIZE);
  const dv = new DataView(b.buffer, b.byteOffset, MAP_INFO_SIZE);
  return {
    type: dv.getUint32(M.type[0], true),
    id: dv.getUint32(M.id[0], true),
    key_size: dv.getUint32(M.key_size[0], true),
    value_size: dv.getUint32(M.value_size[0], true),
    max_entries: dv.getUint32(M.max_entries[0], true),
    map_flags: dv.getUint32(M.map_flags[0], true),
    name: nameAt(b, M.name[0]),
    btf_id: dv.getUint32(M.btf_id[0], true),
    btf_key_type_id: dv.getUint32(M.btf_key_type_id[0], true),
    btf_value_type_id: dv.getUint32(M.btf_value_type_id[0], true),
    map_extra: dv.getBigUint64(M.map_extra[0], true),
  };
}

/** struct bpf_prog_info, the scalar fields tsbpf uses. */
export interface ProgInfo {
  type: number;
  id: number;
  /** 8-byte program tag, hex. */
  tag: string;
  jited_prog_len: number;
  xlated_prog_len: number;
  load_time: bigint;
  created_by_uid: number;
  nr_map_ids: number;
  name: string;
  gpl_compatible: boolean;
  btf_id: number;
  run_time_ns: bigint;
  run_cnt: bigint;
  recursion_misses: bigint;
  verified_insns: number;
  attach_btf_obj_id: number;
  attach_btf_id: number;
}

/** Bytes of struct bpf_prog_info up to the last field read (attach_btf_id, 6.0+), 8-aligned. */
const PROG_INFO_SIZE = (bpf_prog_info.attach_btf_id[0] + 4 + 7) & ~7;

export function progInfo(fd: number): ProgInfo {
  const P = bpf_prog_info;
  const b = objGetInfoRaw(fd, PROG_INFO_SIZE);
  const dv = new DataView(b.buffer, b.byteOffset, PROG_INFO_SIZE);
  const tagAt = P.tag[0];
  const tag = Array.from(b.subarray(tagAt, tagAt + 8), (x) => x.toString(16).padStart(2, "0")).join("");
  const [gplWord, , gplBit] = P.gpl_compatible;
  return {
    type: dv.getUint32(P.type[0], true),
    id: dv.getUint32(P.id[0], true),
    tag,
    jited_prog_len: dv.getUint32(P.jited_prog_len[0], true),
    xlated_prog_len: dv.getUint32(P.xlated_prog_len[0], true),
    load_time: dv.getBigUint64(P.load_time[0], true),
    created_by_uid: dv.getUint32(P.created_by_uid[0], true),
    nr_map_ids: dv.getUint32(P.nr_map_ids[0], true),
    name: nameAt(b, P.name[0]),
    gpl_compatible: ((dv.getUint32(gplWord, true) >>> gplBit) & 1) === 1,
    btf_id: dv.getUint32(P.btf_id[0], true),
    run_time_ns: dv.getBigUint64(P.run_time_ns[0], true),
    run_cnt: dv.getBigUint64(P.run_cnt[0], true),
    recursion_misses: dv.getBigUint64(P.recursion_misses[0], true),
    verified_insns: dv.getUint32(P.verified_insns[0], true),
    attach_btf_obj_id: dv.getUint32(P.attach_btf_obj_id[0], true),
    attach_btf_id: dv.getUint32(P.attach_btf_id[0], true),
  };
}

/** struct bpf_link_info: header plus the tracing/raw_tracepoint union members. */
export interface LinkInfo {
  /** enum bpf_link_type */
  type: number;
  id: number;
  prog_id: number;
  /** tracing.attach_type / target_obj_id / target_btf_id (BPF_LINK_TYPE_TRACING) */
  attach_type?: number;
  target_obj_id?: number;
  target_btf_id?: number;
}

export function linkInfo(fd: number): LinkInfo {
  const L = bpf_link_info;
  const b = objGetInfoRaw(fd, 48);
  const dv = new DataView(b.buffer, b.byteOffset, 48);
  const info: LinkInfo = {
    type: dv.getUint32(L.type[0], true),
    id: dv.getUint32(L.id[0], true),
    prog_id: dv.getUint32(L.prog_id[0], true),
  };
  if (info.type === U.BPF_LINK_TYPE_TRACING) {
    info.attach_type = dv.getUint32(L["tracing.attach_type"][0], true);
    info.target_obj_id = dv.getUint32(L["tracing.target_obj_id"][0], true);
    info.target_btf_id = dv.getUint32(L["tracing.target_btf_id"][0], true);
  }
  return info;
}

/** BPF_OBJ_GET_INFO_BY_FD decoded by kind. */
export function objGetInfoByFd(fd: number, kind: "map"): MapInfo;
export function objGetInfoByFd(fd: number, kind: "prog"): ProgInfo;
export function objGetInfoByFd(fd: number, kind: "link"): LinkInfo;
export function objGetInfoByFd(fd: number, kind: "map" | "prog" | "link"): MapInfo | ProgInfo | LinkInfo {
  if (kind === "map") return mapInfo(fd);
  if (kind === "prog") return progInfo(fd);
  return linkInfo(fd);
}

/** close(2); throws SyscallError on EBADF so double closes are caught. */
export function closeFd(fd: number): void {
  if (sys.close(fd) < 0) throw new SyscallError("close", sys.errno(), { what: `fd ${fd}` });
}
