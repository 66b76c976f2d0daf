// Object commands of bpf(2): pin/get, ids, fds by id, and BPF_OBJ_GET_INFO_BY_FD with
// decoders for struct bpf_prog_info / bpf_map_info / bpf_link_info / bpf_btf_info.
import * as U from "../uapi.ts";
import { cString } from "./bpf-attr.ts";
import { bpf, bpfError, bpfTry, newAttr as newAttrBuf } from "./bpf-core.ts";
import { ERRNO, SyscallError } from "./errors.ts";
import { addressOf, closeRaw, errno } from "./libc.ts";

/** BPF_OBJ_PIN: pin `fd` at `path` (inside a bpffs). */
export function objPin(fd: number, path: string): void {
  const attr = newAttrBuf();
  const dv = new DataView(attr.buffer);
  const p = cString(path);
  dv.setBigUint64(0, addressOf(p), true);
  dv.setUint32(8, fd, true);
  bpf(U.BPF_OBJ_PIN, attr, { what: `at ${path}`, fields: { pathname: path, bpf_fd: fd } });
}

/** BPF_OBJ_GET: open the object pinned at `path` → fd. file_flags: BPF_F_RDONLY/WRONLY. */
export function objGet(path: string, fileFlags = 0): number {
  const attr = newAttrBuf();
  const dv = new DataView(attr.buffer);
  const p = cString(path);
  dv.setBigUint64(0, addressOf(p), true);
  dv.setUint32(12, fileFlags, true);
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
  dv.setUint32(0, startId, true);
  const r = bpfTry(NEXT_ID[kind], attr);
  if (r === -ERRNO.ENOENT) return undefined;
  if (r < 0) throw bpfError(NEXT_ID[kind], attr, -r, undefined);
  return dv.getUint32(4, true);
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
  dv.setUint32(0, id, true);
  dv.setUint32(8, openFlags, true);
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
  dv.setUint32(0, fd, true);
  dv.setUint32(4, size, true);
  dv.setBigUint64(8, addressOf(info), true);
  bpf(U.BPF_OBJ_GET_INFO_BY_FD, attr, { fields: { bpf_fd: fd, info_len: size } });
  return info.subarray(0, Math.min(size, dv.getUint32(4, true)));
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

export function mapInfo(fd: number): MapInfo {
  const b = objGetInfoRaw(fd, 88);
  const dv = new DataView(b.buffer, b.byteOffset, 88);
  return {
    type: dv.getUint32(0, true),
    id: dv.getUint32(4, true),
    key_size: dv.getUint32(8, true),
    value_size: dv.getUint32(12, true),
    max_entries: dv.getUint32(16, true),
    map_flags: dv.getUint32(20, true),
    name: nameAt(b, 24),
    btf_id: dv.getUint32(64, true),
    btf_key_type_id: dv.getUint32(68, true),
    btf_value_type_id: dv.getUint32(72, true),
    map_extra: dv.getBigUint64(80, true),
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

export function progInfo(fd: number): ProgInfo {
  const b = objGetInfoRaw(fd, 232);
  const dv = new DataView(b.buffer, b.byteOffset, 232);
  const tag = Array.from(b.subarray(8, 16), (x) => x.toString(16).padStart(2, "0")).join("");
  return {
    type: dv.getUint32(0, true),
    id: dv.getUint32(4, true),
    tag,
    jited_prog_len: dv.getUint32(16, true),
    xlated_prog_len: dv.getUint32(20, true),
    load_time: dv.getBigUint64(40, true),
    created_by_uid: dv.getUint32(48, true),
    nr_map_ids: dv.getUint32(52, true),
    name: nameAt(b, 64),
    gpl_compatible: (dv.getUint32(84, true) & 1) === 1,
    btf_id: dv.getUint32(128, true),
    run_time_ns: dv.getBigUint64(192, true),
    run_cnt: dv.getBigUint64(200, true),
    recursion_misses: dv.getBigUint64(208, true),
    verified_insns: dv.getUint32(216, true),
    attach_btf_obj_id: dv.getUint32(220, true),
    attach_btf_id: dv.getUint32(224, true),
  };
}

/** struct bpf_link_info: header plus the tracing/raw_tracepoint union members. */
export interface LinkInfo {
  /** enum bpf_link_type */
  type: number;
  id: number;
  prog_id: number;
  /** tracing.attach_type / target_obj_id / target_btf_id (BPF_LINK_TYPE_TRACING = 2) */
  attach_type?: number;
  target_obj_id?: number;
  target_btf_id?: number;
}

export function linkInfo(fd: number): LinkInfo {
  const b = objGetInfoRaw(fd, 48);
  const dv = new DataView(b.buffer, b.byteOffset, 48);
  const info: LinkInfo = {
    type: dv.getUint32(0, true),
    id: dv.getUint32(4, true),
    prog_id: dv.getUint32(8, true),
  };
  if (info.type === 2) {
    info.attach_type = dv.getUint32(16, true);
    info.target_obj_id = dv.getUint32(20, true);
    info.target_btf_id = dv.getUint32(24, true);
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
  if (closeRaw(fd) < 0) throw new SyscallError("close", errno(), { what: `fd ${fd}` });
}
