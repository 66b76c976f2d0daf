// Which capabilities `tsbpf trace` keeps after attach for what its options do later
// (src/tracker/privileges.ts drops everything else). Files are created after attach in
// two places: the -o directory (rotation, and the reopen on SIGHUP) and the NATS spool.
// Creating a file needs write and search permission on its directory; root passes that
// check on a directory it does not own only with CAP_DAC_OVERRIDE
// (fs/namei.c may_create_in_dir -> generic_permission -> capable_wrt_inode_uidgid).
import { type Stats, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { CAP, capBit } from "../sys/caps.ts";
import type { TraceCliConfig } from "./trace-options.ts";

/** Where a NATS spool lives when --nats-spool is not given (src/export). */
const DEFAULT_SPOOL = "/var/lib/tsbpf/spool";

/** Can uid/gids create files in a directory with these attributes, without a capability? */
export function dirWritableByDac(
  st: Pick<Stats, "mode" | "uid" | "gid">,
  uid: number,
  gids: readonly number[],
): boolean {
  const need = 0o3; // write + search
  const bits = st.uid === uid ? st.mode >> 6 : gids.includes(st.gid) ? st.mode >> 3 : st.mode;
  return (bits & need) === need;
}

/** The directories the running tracer creates files in. */
export function writeDirs(cfg: TraceCliConfig): string[] {
  const dirs: string[] = [];
  if (cfg.output !== undefined && cfg.output !== "-") dirs.push(dirname(resolve(cfg.output)));
  const nats = cfg.export.exports?.nats;
  if (nats !== undefined) dirs.push(resolve(nats.spoolDir ?? DEFAULT_SPOOL));
  return dirs;
}

/** A mask of the capabilities to keep: CAP_DAC_OVERRIDE when a directory needs it. */
export function capsToKeep(cfg: TraceCliConfig): bigint {
  const uid = process.geteuid?.() ?? 0;
  const gids = [process.getegid?.() ?? 0, ...(process.getgroups?.() ?? [])];
  for (const d of writeDirs(cfg)) {
    let st: Stats;
    try {
      st = statSync(d);
    } catch {
      continue; // not there (yet): its creator's error is reported where it is made
    }
    if (!dirWritableByDac(st, uid, gids)) return capBit(CAP.CAP_DAC_OVERRIDE);
  }
  return 0n;
}
