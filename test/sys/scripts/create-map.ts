// Run unprivileged by test/sys/unprivileged.test.ts: tries to create a map and prints
// the error message, exiting 3 on a SyscallError.
import { mapCreate } from "../../../src/sys/bpf.ts";
import { SyscallError } from "../../../src/sys/errors.ts";
import { BPF_MAP_TYPE } from "../../../src/uapi.ts";

try {
  mapCreate({ map_type: BPF_MAP_TYPE.HASH, key_size: 4, value_size: 4, max_entries: 1, map_name: "unpriv" });
  console.log("created");
} catch (e) {
  if (!(e instanceof SyscallError)) throw e;
  console.log(`${e.code}|${e.message}`);
  process.exit(3);
}
