// Prints one JSON line: what the running kernel offers tsbpf, probed for real where a probe
// exists (the matrix's kernel × feature table is built from it).
import { existsSync, readFileSync } from "node:fs";
import { release } from "node:os";
import { gunzipSync } from "node:zlib";
import { loadCollection } from "../../src/loader/collection.ts";
import { UnsupportedProgramError } from "../../src/loader/errors.ts";
import { FEATURE_NAMES, probe } from "../../src/sys/features.ts";

const read = (p: string): string => {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return "";
  }
};
function readConfig(): string {
  try {
    return gunzipSync(readFileSync("/proc/config.gz")).toString("latin1");
  } catch {
    return read(`/boot/config-${release()}`);
  }
}
const out: Record<string, boolean | string> = { release: release() };
out.btf_vmlinux = existsSync("/sys/kernel/btf/vmlinux");
for (const f of FEATURE_NAMES) out[f] = probe(f);
out.kprobe_pmu = existsSync("/sys/bus/event_source/devices/kprobe/type");
out.uprobe_pmu = existsSync("/sys/bus/event_source/devices/uprobe/type");
out.bpf_lsm = read("/sys/kernel/security/lsm").split(",").includes("bpf");
out.kconfig = existsSync("/proc/config.gz") ? "/proc/config.gz" : existsSync(`/boot/config-${release()}`) ? "/boot" : "none";
out.kprobe_multi = /^CONFIG_FPROBE=y$/m.test(readConfig());
// Trampolines: whether an fentry program loads here (the kernel's own answer).
try {
  (await loadCollection("test/fixtures/fentry.bpf.o")).close();
  out.trampolines = true;
} catch (e) {
  out.trampolines = e instanceof UnsupportedProgramError ? false : `error: ${(e as Error).message.slice(0, 80)}`;
}
console.log(JSON.stringify(out));
