// Typed wrappers for program, BTF, link and test-run commands of bpf(2).
import { bpf_attr } from "../uapi.gen.ts";
import * as U from "../uapi.ts";
import {
  ATTR_SIZE,
  type AttrValue,
  BTF_LOAD,
  describeValues,
  encodeAttr,
  LINK_CREATE,
  LINK_CREATE_KPROBE_MULTI,
  PROG_LOAD,
  PROG_TEST_RUN,
  RAW_TRACEPOINT,
} from "./bpf-attr.ts";
import { bpf } from "./bpf-core.ts";
import { SyscallError } from "./errors.ts";
import { sys } from "./syscalls.ts";

/** Fields of the BPF_PROG_LOAD attr (linux/bpf.h names); pointers as Uint8Array/string. */
export interface ProgLoadAttr {
  prog_type: number;
  /** Raw instructions, 8 bytes each; insn_cnt defaults to insns.length / 8. */
  insns: Uint8Array;
  insn_cnt?: number;
  license: string;
  log_level?: number;
  log_buf?: Uint8Array;
  /** Defaults to log_buf.byteLength. */
  log_size?: number;
  kern_version?: number;
  prog_flags?: number;
  prog_name?: string;
  prog_ifindex?: number;
  expected_attach_type?: number;
  prog_btf_fd?: number;
  func_info_rec_size?: number;
  func_info?: Uint8Array;
  func_info_cnt?: number;
  line_info_rec_size?: number;
  line_info?: Uint8Array;
  line_info_cnt?: number;
  attach_btf_id?: number;
  /** union with attach_btf_obj_fd: set one of them. */
  attach_prog_fd?: number;
  attach_btf_obj_fd?: number;
  core_relo_cnt?: number;
  /** Array of u32 fds referenced by BPF_PSEUDO_MAP_IDX. */
  fd_array?: Uint8Array;
  core_relos?: Uint8Array;
  core_relo_rec_size?: number;
}

/** Out-parameters the kernel writes back, filled even when the call throws. */
export interface LogOut {
  /** Bytes the full verifier/BTF log needs (log_true_size / btf_log_true_size, 6.4+). */
  logTrueSize?: number;
}

const EAGAIN = 11;
const PROG_LOAD_ATTEMPTS = 5;

/**
 * BPF_PROG_LOAD → program fd. No log retry (the loader owns that); only EAGAIN is retried. On failure the SyscallError carries the
 * errno (EACCES/EINVAL with a verifier log in log_buf); `out.logTrueSize` is filled.
 */
export function progLoad(attrs: ProgLoadAttr, what?: string, out?: LogOut): number {
  const values: Record<string, AttrValue> = {
    ...(attrs as unknown as Record<string, AttrValue>),
    insn_cnt: attrs.insn_cnt ?? attrs.insns.byteLength / 8,
    log_size: attrs.log_size ?? attrs.log_buf?.byteLength,
    attach_btf_obj_fd: attrs.attach_btf_obj_fd ?? attrs.attach_prog_fd,
  };
  const { attr, keep } = encodeAttr(PROG_LOAD, values);
  const fields = describeValues(values);
  delete fields.attach_prog_fd;
  fields.license = attrs.license;
  const dv = new DataView(attr.buffer);
  const ctx = { what: what ?? (attrs.prog_name ? `program '${attrs.prog_name}'` : undefined), fields };
  try {
    // The verifier gives up with EAGAIN when a signal is pending (kernel/bpf/verifier.c
    // checks signal_pending() while exploring states): a profiler's SIGPROF or a child's
    // SIGCHLD is enough. That is no verdict on the program, so retry, as libbpf's
    // sys_bpf_prog_load does (up to PROG_LOAD_ATTEMPTS tries).
    for (let attempt = 1; ; attempt++) {
      try {
        return bpf(U.BPF_PROG_LOAD, attr, ctx);
      } catch (e) {
        if (!(e instanceof SyscallError) || e.errno !== EAGAIN || attempt >= PROG_LOAD_ATTEMPTS) throw e;
      }
    }
  } finally {
    if (out) out.logTrueSize = dv.getUint32(140, true);
    keep.length = 0;
  }
}

export interface BtfLoadAttr {
  /** The raw BTF blob (header + types + strings). */
  btf: Uint8Array;
  btf_log_buf?: Uint8Array;
  btf_log_size?: number;
  btf_log_level?: number;
}

/** BPF_BTF_LOAD → BTF fd. */
export function btfLoad(attrs: BtfLoadAttr, what?: string, out?: LogOut): number {
  const values: Record<string, AttrValue> = {
    btf: attrs.btf,
    btf_size: attrs.btf.byteLength,
    btf_log_buf: attrs.btf_log_buf,
    btf_log_size: attrs.btf_log_size ?? attrs.btf_log_buf?.byteLength,
    btf_log_level: attrs.btf_log_level,
  };
  const { attr } = encodeAttr(BTF_LOAD, values);
  const dv = new DataView(attr.buffer);
  try {
    return bpf(U.BPF_BTF_LOAD, attr, { what, fields: describeValues(values) });
  } finally {
    if (out) out.logTrueSize = dv.getUint32(28, true);
  }
}

/** BPF_RAW_TRACEPOINT_OPEN → link fd. `name` null for tp_btf/fentry/... (target from the program). */
export function rawTracepointOpen(name: string | null, progFd: number): number {
  const values: Record<string, AttrValue> = { name, prog_fd: progFd };
  const { attr } = encodeAttr(RAW_TRACEPOINT, values);
  return bpf(U.BPF_RAW_TRACEPOINT_OPEN, attr, {
    what: name ? `tracepoint '${name}'` : undefined,
    fields: describeValues(values),
  });
}

export interface LinkCreateAttr {
  prog_fd: number;
  /** target_fd or target_ifindex (perf event fd for BPF_PERF_EVENT; 0 for tracing). */
  target_fd: number;
  attach_type: number;
  flags?: number;
  /** tracing: BTF id of the target (fentry/fexit/tp_btf via link_create). */
  target_btf_id?: number;
  /** perf_event.bpf_cookie */
  bpf_cookie?: bigint;
  /** tracing.cookie */
  tracing_cookie?: bigint;
  /** Iterators: a struct bpf_iter_link_info (e.g. the map fd of iter/bpf_map). */
  iter_info?: Uint8Array;
  /** tcx: the program or link the new one goes before/after (with BPF_F_BEFORE/AFTER). */
  relative_fd?: number;
  /** tcx: fail with ESTALE unless the hook is still at this revision. */
  expected_revision?: bigint;
}

/** BPF_LINK_CREATE → link fd. */
export function linkCreate(attrs: LinkCreateAttr, what?: string): number {
  const values: Record<string, AttrValue> = {
    prog_fd: attrs.prog_fd,
    target_fd: attrs.target_fd,
    attach_type: attrs.attach_type,
    flags: attrs.flags,
    // target_btf_id and bpf_cookie share offset 16: write whichever is given.
    target_btf_id: attrs.target_btf_id,
    "perf_event.bpf_cookie": attrs.target_btf_id ? undefined : attrs.bpf_cookie,
    "tracing.cookie": attrs.tracing_cookie,
    iter_info: attrs.iter_info,
    iter_info_len: attrs.iter_info?.byteLength,
    "tcx.relative_fd": attrs.relative_fd,
    "tcx.expected_revision": attrs.expected_revision,
  };
  const { attr } = encodeAttr(LINK_CREATE, values);
  return bpf(U.BPF_LINK_CREATE, attr, { what, fields: describeValues(values) });
}

/** BPF_F_KPROBE_MULTI_RETURN: kretprobe.multi */
export { BPF_F_KPROBE_MULTI_RETURN } from "../uapi.ts";

export interface KprobeMultiAttr {
  prog_fd: number;
  /** Kernel function names; the kernel resolves them (kallsyms) and sorts its copy. */
  syms: string[];
  /** BPF_F_KPROBE_MULTI_RETURN for kretprobe.multi. */
  flags?: number;
  /** One bpf_cookie per symbol, in the same order. */
  cookies?: bigint[];
}

/**
 * BPF_LINK_CREATE with BPF_TRACE_KPROBE_MULTI (Linux 5.18+, CONFIG_FPROBE): one link for
 * many kernel functions. kprobe_multi.syms is an array of `const char *`.
 */
export function linkCreateKprobeMulti(a: KprobeMultiAttr, what?: string): number {
  const enc = new TextEncoder();
  const strings = a.syms.map((s) => enc.encode(`${s}\0`));
  const ptrs = new Uint8Array(new ArrayBuffer(8 * strings.length));
  const pv = new DataView(ptrs.buffer);
  for (const [i, s] of strings.entries()) pv.setBigUint64(i * 8, sys.address_of(s), true);
  let cookies: Uint8Array | undefined;
  if (a.cookies) {
    cookies = new Uint8Array(new ArrayBuffer(8 * a.syms.length));
    const cv = new DataView(cookies.buffer);
    for (const [i, c] of a.cookies.entries()) cv.setBigUint64(i * 8, c, true);
  }
  const values: Record<string, AttrValue> = {
    prog_fd: a.prog_fd,
    target_fd: 0,
    attach_type: U.BPF_ATTACH_TYPE.BPF_TRACE_KPROBE_MULTI,
    "kprobe_multi.flags": a.flags,
    "kprobe_multi.cnt": a.syms.length,
    "kprobe_multi.syms": ptrs,
    "kprobe_multi.cookies": cookies,
  };
  const { attr } = encodeAttr(LINK_CREATE_KPROBE_MULTI, values);
  const fd = bpf(U.BPF_LINK_CREATE, attr, {
    what,
    fields: { ...describeValues(values), syms: a.syms.join(",") },
  });
  strings.length = 0; // the strings stayed reachable until the call returned
  return fd;
}

/** BPF_LINK_DETACH: force-detach a link (its fd stays open). */
export function linkDetach(linkFd: number): void {
  const attr = new Uint8Array(new ArrayBuffer(ATTR_SIZE));
  new DataView(attr.buffer).setUint32(bpf_attr.link_detach.link_fd[0], linkFd, true);
  bpf(U.BPF_LINK_DETACH, attr);
}

export interface ProgTestRunAttr {
  prog_fd: number;
  data_in?: Uint8Array;
  data_out?: Uint8Array;
  ctx_in?: Uint8Array;
  ctx_out?: Uint8Array;
  repeat?: number;
  flags?: number;
  cpu?: number;
  batch_size?: number;
}

export interface ProgTestRunResult {
  retval: number;
  /** Average run time in ns. */
  duration: number;
  dataSizeOut: number;
  ctxSizeOut: number;
}

/** BPF_PROG_TEST_RUN */
export function progTestRun(attrs: ProgTestRunAttr): ProgTestRunResult {
  const values: Record<string, AttrValue> = {
    ...(attrs as unknown as Record<string, AttrValue>),
    data_size_in: attrs.data_in?.byteLength,
    data_size_out: attrs.data_out?.byteLength,
    ctx_size_in: attrs.ctx_in?.byteLength,
    ctx_size_out: attrs.ctx_out?.byteLength,
  };
  const { attr } = encodeAttr(PROG_TEST_RUN, values);
  bpf(U.BPF_PROG_TEST_RUN, attr, { fields: describeValues(values) });
  const dv = new DataView(attr.buffer);
  return {
    retval: dv.getUint32(4, true),
    duration: dv.getUint32(36, true),
    dataSizeOut: dv.getUint32(12, true),
    ctxSizeOut: dv.getUint32(44, true),
  };
}
