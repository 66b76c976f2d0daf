import { spawnSync } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { AS_NOBODY } from "../helpers/cli.ts";
import { haveTool, privileged, ROOT_DIR } from "../helpers/env.ts";

test("map create as nobody: SyscallError says what privileges are needed", () => {
  if (!privileged("setpriv to nobody") || !haveTool("setpriv")) return;
  const r = spawnSync(
    AS_NOBODY[0] as string,
    [...AS_NOBODY.slice(1), process.execPath, "--import", "tsx", "test/sys/scripts/create-map.ts"],
    { cwd: ROOT_DIR, encoding: "utf8", timeout: 120_000, env: { ...process.env, HOME: "/tmp" } },
  );
  assert.is(r.status, 3, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const [code, msg] = r.stdout.trim().split("|");
  assert.is(code, "EPERM");
  assert.match(
    msg,
    /^bpf\(BPF_MAP_CREATE\) map 'unpriv': operation not permitted: needs root, or CAP_BPF \+ CAP_PERFMON/,
  );
});

test.run();
