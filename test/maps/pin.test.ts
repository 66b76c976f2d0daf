import { existsSync, rmSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { BpfMap } from "../../src/maps/map.ts";
import { createOrReusePinned, PinMismatchError, pinPath } from "../../src/maps/pin.ts";
import type { MapSpec } from "../../src/spec.ts";
import { BPF_MAP_TYPE } from "../../src/uapi.ts";
import { privileged } from "../helpers/env.ts";

const run = privileged("map pinning");
const dir = `/sys/fs/bpf/tsbpf-test-${process.pid}`;
const spec: MapSpec = {
  name: "pinned_hash",
  type: BPF_MAP_TYPE.HASH,
  typeName: "hash",
  keySize: 4,
  valueSize: 8,
  maxEntries: 32,
  flags: 0,
  numaNode: 0,
  mapExtra: 0n,
  pinning: "by_name",
  btfKeyTypeId: 0,
  btfValueTypeId: 0,
};

test("pin, reuse of an existing pin, and a mismatch error", () => {
  if (!run) return;
  const path = pinPath(spec, dir);
  try {
    const a = createOrReusePinned(spec, path);
    assert.is(a.reused, false);
    assert.ok(existsSync(path));
    a.map.update(1, 11n);
    const id = a.map.info().id;
    a.map.close();
    // the pin keeps the map alive after close
    const b = createOrReusePinned(spec, path);
    assert.is(b.reused, true);
    assert.is(b.map.info().id, id);
    assert.equal([...(b.map.lookup(1) as Uint8Array)], [11, 0, 0, 0, 0, 0, 0, 0]);
    b.map.close();
    using c = BpfMap.fromPin(path);
    assert.is(c.spec.maxEntries, 32);
    assert.is(c.spec.typeName, "hash");
    try {
      createOrReusePinned({ ...spec, maxEntries: 64, valueSize: 4 }, path);
      assert.unreachable();
    } catch (e) {
      assert.instance(e, PinMismatchError);
      const m = (e as Error).message;
      assert.match(
        m,
        /map 'pinned_hash': the map pinned at \/sys\/fs\/bpf\/tsbpf-test-\d+\/pinned_hash does not match/,
      );
      assert.match(m, /value_size: pinned 8, spec wants 4/);
      assert.match(m, /max_entries: pinned 32, spec wants 64/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
