/**
 * tsbpf: load clang-built eBPF objects from TypeScript, with no libbpf.
 *
 * The path from an object file to running programs follows cilium/ebpf:
 * - {@link loadCollectionSpec} / {@link readCollectionSpec} read an object into a
 *   {@link CollectionSpec}: plain data (programs, maps, globals, BTF), no syscalls;
 * - {@link loadCollection} creates the maps, applies relocations and CO-RE against the
 *   running kernel's BTF (or {@link LoadOptions.btf}), loads the programs and returns a
 *   {@link Collection} of {@link Program}s, {@link BpfMap}s and typed globals;
 * - {@link Program.attach} attaches by the program's SEC() kind and returns a {@link Link};
 * - {@link RingBufReader} and {@link PerfReader} (or {@link openEventReader}, which picks
 *   one) read what the programs send.
 *
 * Everything that holds a file descriptor has `close()` and `[Symbol.dispose]`, so
 * `using coll = await loadCollection(...)` closes it at the end of the scope. Every
 * error is a {@link TsbpfError}; those of the kernel carry the errno
 * ({@link SyscallError}) or the verifier's log ({@link VerifierError}).
 *
 * `tsbpf gen OBJ -o FILE` writes typed bindings for one object: its programs, maps and
 * globals with their C types, and a loader function (see the README, "Library").
 *
 * This module is the package's stable surface: anything not exported here (or from the
 * `tsbpf/btf`, `tsbpf/elf`, `tsbpf/ringbuf` and `tsbpf/tracker` entries) is internal.
 * @packageDocumentation
 */

export { Btf, type BtfParseOptions } from "./btf/btf.ts";
export { type Codec, CodecError, type CodecOptions, makeCodec } from "./btf/codec.ts";
export { BtfError } from "./btf/errors.ts";
export type { BtfKindName, BtfType } from "./btf/types.ts";
export { CoreRelocationError, ExternError, KernelBtfError } from "./core/errors.ts";
export { readCollectionSpec } from "./elf/collection.ts";
export { ElfError } from "./elf/errors.ts";
export { TsbpfError } from "./errors.ts";
export {
  type BatchOptions,
  type Decoder,
  EventReaderBase,
  type RawCallback,
  type RecordsOptions,
  RingBufError,
} from "./events/base.ts";
export type {
  AttachOptions,
  AttachOptionsByKind,
  AttachOptionsFor,
  BtfAttachOptions,
  CgroupAttachOptions,
  IterAttachOptions,
  KprobeAttachOptions,
  KprobeMultiAttachOptions,
  NetnsAttachOptions,
  PerfEventAttachOptions,
  RawTracepointAttachOptions,
  SocketAttachOptions,
  SockmapAttachOptions,
  TcAttachOptions,
  TracepointAttachOptions,
  UprobeAttachOptions,
  XdpAttachOptions,
} from "./link/attach.ts";
export { IterLink } from "./link/iter.ts";
export { AttachError, type AttachKind, type AttachMethod, Link } from "./link/link.ts";
export { BtfLoadError } from "./loader/btf.ts";
export {
  Collection,
  type CollectionShape,
  type LoadOptions,
  loadCollection,
  loadCollectionSync,
  type MapOverride,
  type Source,
} from "./loader/collection.ts";
export { LoadError, UnsupportedProgramError, VerifierError } from "./loader/errors.ts";
export { Program, type TestRunOptions, type TestRunResult } from "./loader/handle.ts";
export { AssetError, loadCollectionSpec, type ObjectFiles } from "./loader/spec-file.ts";
export type { LoadStep, OnStep, VerifierStats } from "./loader/steps.ts";
export { GlobalData, GlobalDataError, type GlobalValue } from "./maps/global-data.ts";
export { BpfMap, type MapCreateOptions, type MapKey, type MapValue } from "./maps/map.ts";
export { PinMismatchError } from "./maps/pin.ts";
export { MapError } from "./maps/values.ts";
export { NetlinkError } from "./netlink/conn.ts";
export { PerfReader, type PerfReaderOptions } from "./perf/reader.ts";
export { LossCounter } from "./ringbuf/loss.ts";
export { type OpenEventReaderOptions, openEventReader } from "./ringbuf/open.ts";
export { type BatchCallback, RingBufReader, type RingBufReaderOptions } from "./ringbuf/reader.ts";
export type {
  CollectionSpec,
  ExternSpec,
  FunctionSpec,
  MapSpec,
  PinningType,
  ProgramSpec,
  ProgramTypeInfo,
} from "./spec.ts";
export type { MapInfo, ProgInfo } from "./sys/bpf.ts";
export { SyscallError } from "./sys/errors.ts";
export { overrideSyscalls, SyscallNotProvidedError, type Syscalls } from "./sys/syscalls.ts";
export { XdpSocket, type XskOptions } from "./sys/xsk.ts";

export { VERSION } from "./version.ts";
