import { test } from "uvu";
import * as assert from "uvu/assert";
import type { BpfCallRecord } from "../../src/sys/bpf.ts";
import {
  closeFd,
  getNextId,
  listIds,
  mapCreate,
  mapDeleteElem,
  mapFreeze,
  mapGetNextKey,
  mapInfo,
  mapLookupElem,
  mapUpdateElem,
  objGetInfoByFd,
  progInfo,
  progLoad,
  progTestRun,
  SyscallError,
  withBpfRecorder,
} from "../../src/sys/bpf.ts";
import { BPF_MAP_TYPE, BPF_NOEXIST, BPF_PROG_TYPE } from "../../src/uapi.ts";
import { privileged } from "../helpers/env.ts";

const run = privileged("bpf(2) syscall tests");

/** r0 = 0; exit */
const RET0 = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (n: bigint) => new Uint8Array(new BigUint64Array([n]).buffer);

test("hash map: create, update, lookup, iterate, delete, info", () => {
  if (!run) return;
  const fd = mapCreate({
    map_type: BPF_MAP_TYPE.HASH,
    key_size: 4,
    value_size: 8,
    max_entries: 16,
    map_name: "tsbpf_t_hash",
  });
  try {
    mapUpdateElem(fd, u32(7), u64(77n));
    mapUpdateElem(fd, u32(8), u64(88n));
    const v = new Uint8Array(8);
    assert.ok(mapLookupElem(fd, u32(7), v));
    assert.is(new DataView(v.buffer).getBigUint64(0, true), 77n);
    assert.not.ok(mapLookupElem(fd, u32(9), v));
    const keys: number[] = [];
    let prev: Uint8Array | null = null;
    const next = new Uint8Array(4);
    while (mapGetNextKey(fd, prev, next)) {
      keys.push(new DataView(next.buffer).getUint32(0, true));
      prev = next.slice();
    }
    assert.equal(keys.sort(), [7, 8]);
    assert.ok(mapDeleteElem(fd, u32(7)));
    assert.not.ok(mapDeleteElem(fd, u32(7)));
    const info = mapInfo(fd);
    assert.is(info.type, BPF_MAP_TYPE.HASH);
    assert.is(info.key_size, 4);
    assert.is(info.value_size, 8);
    assert.is(info.max_entries, 16);
    assert.is(info.name, "tsbpf_t_hash");
    assert.ok(listIds("map").includes(info.id));
    assert.ok(getNextId("map", 0) !== undefined);
  } finally {
    closeFd(fd);
  }
});

test("BPF_NOEXIST on an existing key: SyscallError EEXIST with a clear message", () => {
  if (!run) return;
  const fd = mapCreate({ map_type: BPF_MAP_TYPE.HASH, key_size: 4, value_size: 4, max_entries: 4 });
  try {
    mapUpdateElem(fd, u32(1), u32(1));
    try {
      mapUpdateElem(fd, u32(1), u32(2), BPF_NOEXIST);
      assert.unreachable("should throw");
    } catch (e) {
      assert.instance(e, SyscallError);
      const err = e as SyscallError;
      assert.is(err.code, "EEXIST");
      assert.is(err.syscall, "bpf(BPF_MAP_UPDATE_ELEM)");
      assert.match(err.message, /already exists \(EEXIST\)/);
      assert.match(err.message, /BPF_NOEXIST/);
    }
  } finally {
    closeFd(fd);
  }
});

test("EINVAL on MAP_CREATE names the fields set (ringbuf size)", () => {
  if (!run) return;
  try {
    mapCreate({
      map_type: BPF_MAP_TYPE.RINGBUF,
      key_size: 0,
      value_size: 0,
      max_entries: 4097,
      map_name: "events",
    });
    assert.unreachable("should throw");
  } catch (e) {
    assert.instance(e, SyscallError);
    const m = (e as Error).message;
    assert.match(m, /^bpf\(BPF_MAP_CREATE\) map 'events': invalid argument \(EINVAL\)/);
    assert.match(m, /map_type=27 \(ringbuf\)/);
    assert.match(m, /max_entries=4097/);
    assert.match(m, /power-of-2 multiple of the page size/);
  }
});

test("freeze: user-space update then fails with EPERM", () => {
  if (!run) return;
  const fd = mapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 4, max_entries: 1 });
  try {
    mapUpdateElem(fd, u32(0), u32(5));
    mapFreeze(fd);
    try {
      mapUpdateElem(fd, u32(0), u32(6));
      assert.unreachable("should throw");
    } catch (e) {
      assert.is((e as SyscallError).code, "EPERM");
      assert.match((e as Error).message, /frozen/);
    }
  } finally {
    closeFd(fd);
  }
});

test("progLoad + progTestRun + progInfo, with the recorder seeing each call", () => {
  if (!run) return;
  const seen: BpfCallRecord[] = [];
  let fd = -1;
  try {
    withBpfRecorder(
      (e) => seen.push(e),
      () => {
        const log = new Uint8Array(4096);
        const out: { logTrueSize?: number } = {};
        fd = progLoad(
          {
            prog_type: BPF_PROG_TYPE.SOCKET_FILTER,
            insns: RET0,
            license: "GPL",
            prog_name: "tsbpf_ret0",
            log_level: 1,
            log_buf: log,
          },
          undefined,
          out,
        );
        assert.ok(fd > 0);
        assert.ok((out.logTrueSize ?? 0) > 0, "log_true_size written back");
        const r = progTestRun({ prog_fd: fd, data_in: new Uint8Array(64), repeat: 1 });
        assert.is(r.retval, 0);
        const info = progInfo(fd);
        assert.is(info.name, "tsbpf_ret0");
        assert.is(info.type, BPF_PROG_TYPE.SOCKET_FILTER);
        assert.ok(info.gpl_compatible);
        assert.is(objGetInfoByFd(fd, "prog").id, info.id);
      },
    );
  } finally {
    if (fd > 0) closeFd(fd);
  }
  const load = seen.find((e) => e.cmdName === "BPF_PROG_LOAD");
  assert.ok(load);
  assert.is(load?.result, fd);
  assert.is(load?.attr.prog_type, BPF_PROG_TYPE.SOCKET_FILTER);
  assert.is(load?.attr.insn_cnt, 2);
  assert.is(load?.attr.license, "GPL");
  assert.is(load?.attr.prog_name, "tsbpf_ret0");
  assert.ok(seen.some((e) => e.cmdName === "BPF_PROG_TEST_RUN"));
  assert.ok(seen.every((e) => typeof e.durationNs === "number"));
});

test("recorder sees failing calls with errno", () => {
  if (!run) return;
  const seen: BpfCallRecord[] = [];
  withBpfRecorder(
    (e) => seen.push(e),
    () =>
      assert.throws(() =>
        mapCreate({ map_type: BPF_MAP_TYPE.HASH, key_size: 0, value_size: 4, max_entries: 1 }),
      ),
  );
  // Removed again afterwards, also after a throw.
  assert.throws(
    () =>
      withBpfRecorder(
        () => {},
        () => {
          throw new Error("x");
        },
      ),
    /x/,
  );
  assert.throws(() => mapCreate({ map_type: BPF_MAP_TYPE.HASH, key_size: 0, value_size: 4, max_entries: 1 }));
  assert.is(seen.length, 1);
  assert.is(seen[0].errno, 22);
  assert.is(seen[0].result, -1);
});

test("closeFd on a closed fd throws EBADF", () => {
  if (!run) return;
  const fd = mapCreate({ map_type: BPF_MAP_TYPE.ARRAY, key_size: 4, value_size: 4, max_entries: 1 });
  closeFd(fd);
  try {
    closeFd(fd);
    assert.unreachable();
  } catch (e) {
    assert.is((e as SyscallError).code, "EBADF");
  }
});

test.run();
