// The bpf(2) API of tsbpf: the raw call, the recorder, and one typed helper per
// command. Implementation is split by command group (bpf-core, bpf-attr, bpf-map,
// bpf-prog, bpf-obj); import from here.

export type { ProgAttachAttr } from "./bpf-attach.ts";
export { iterCreate, progAttach, progDetach, progQuery } from "./bpf-attach.ts";
export type { AttrValue, Field, Layout } from "./bpf-attr.ts";
export { ATTR_SIZE, cString, decodeAttr, encodeAttr } from "./bpf-attr.ts";
export type { BpfCallContext, BpfCallRecord, BpfRecorder } from "./bpf-core.ts";
export { bpf, bpfTry, cmdName, newAttr, withBpfRecorder } from "./bpf-core.ts";
export type { BatchArgs, BatchResult, MapCreateAttr } from "./bpf-map.ts";
export {
  mapCreate,
  mapDeleteBatch,
  mapDeleteElem,
  mapElemRaw,
  mapFreeze,
  mapGetNextKey,
  mapLookupAndDeleteBatch,
  mapLookupAndDeleteElem,
  mapLookupBatch,
  mapLookupElem,
  mapUpdateBatch,
  mapUpdateElem,
} from "./bpf-map.ts";
export type { LinkInfo, MapInfo, ProgInfo } from "./bpf-obj.ts";
export {
  closeFd,
  getFdById,
  getNextId,
  linkInfo,
  listIds,
  mapInfo,
  objGet,
  objGetInfoByFd,
  objGetInfoRaw,
  objPin,
  progInfo,
} from "./bpf-obj.ts";
export type {
  BtfLoadAttr,
  KprobeMultiAttr,
  LinkCreateAttr,
  LogOut,
  ProgLoadAttr,
  ProgTestRunAttr,
  ProgTestRunResult,
} from "./bpf-prog.ts";
export {
  BPF_F_KPROBE_MULTI_RETURN,
  btfLoad,
  linkCreate,
  linkCreateKprobeMulti,
  linkDetach,
  progLoad,
  progTestRun,
  rawTracepointOpen,
} from "./bpf-prog.ts";
export { SyscallError } from "./errors.ts";
