// Drops the single binary's clean file pages from the process once start-up is over.
// dist/tsbpf is one ~95 MB file: Node's text, its read-only data (ICU among it) and the
// SEA blob (the V8 start-up snapshot, the bundle, the embedded objects). Start-up reads
// much of it once (the snapshot is deserialised into the heap, the bootstrap code runs
// once), and those pages stay in the process's RSS for good although the tracer never
// touches them again. madvise(MADV_DONTNEED) on a private file mapping unmaps its pages
// from this process only (mm/madvise.c, madvise_dontneed_free): the page cache keeps
// them, and a page touched again is mapped back by a minor fault with the file's
// contents. That is safe only where the process holds no private copy of a page (a
// copy-on-write page would be discarded, e.g. relocated .data.rel.ro): so a mapping is
// dropped only when smaps shows no dirty private and no anonymous page in it.
// Only for the single binary (a build with its own file); library code never does this.
import { readFileSync, readlinkSync } from "node:fs";
import { MADV_DONTNEED, madvise } from "../sys/mm.ts";

/**
 * How long after the session opened the tracer's start-up is over: the /proc seeding
 * runs in the background and the first drains compile the per-event code.
 */
export const STARTUP_OVER_MS = 1000;

/** One mapping of /proc/self/smaps (proc(5)). */
export interface SmapsMapping {
  start: bigint;
  end: bigint;
  perms: string;
  path: string;
  /** kB */
  rss: number;
  privateDirty: number;
  anonymous: number;
}

const HEADER = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) [0-9a-f]+ \S+ \d+\s*(.*)$/;

/** Parses /proc/<pid>/smaps text. */
export function parseSmaps(text: string): SmapsMapping[] {
  const out: SmapsMapping[] = [];
  let cur: SmapsMapping | undefined;
  for (const line of text.split("\n")) {
    const h = HEADER.exec(line);
    if (h) {
      cur = {
        start: BigInt(`0x${h[1]}`),
        end: BigInt(`0x${h[2]}`),
        perms: h[3] as string,
        path: h[4] as string,
        rss: 0,
        privateDirty: 0,
        anonymous: 0,
      };
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    if (key === "Rss") cur.rss = Number.parseInt(line.slice(colon + 1), 10);
    else if (key === "Private_Dirty") cur.privateDirty = Number.parseInt(line.slice(colon + 1), 10);
    else if (key === "Anonymous") cur.anonymous = Number.parseInt(line.slice(colon + 1), 10);
  }
  return out;
}

/**
 * The mappings of `file` whose resident pages can all be dropped and refaulted from the
 * file: private, not writable, no dirty private or anonymous (copied-on-write) page.
 */
export function droppableMappings(maps: SmapsMapping[], file: string): SmapsMapping[] {
  // A binary replaced on disk while it runs shows as "PATH (deleted)": its pages still
  // come from the old inode, which the mapping keeps.
  const names = new Set([file, `${file} (deleted)`]);
  return maps.filter(
    (m) =>
      names.has(m.path) &&
      m.perms[1] === "-" &&
      m.perms[3] === "p" &&
      m.rss > 0 &&
      m.privateDirty === 0 &&
      m.anonymous === 0,
  );
}

/**
 * Drops the resident clean pages of the running executable's file mappings; returns
 * the kB that were resident in them. Never throws: a failure only leaves pages resident.
 */
export function dropExecutablePages(): number {
  let kb = 0;
  try {
    const exe = readlinkSync("/proc/self/exe").replace(/ \(deleted\)$/, "");
    for (const m of droppableMappings(parseSmaps(readFileSync("/proc/self/smaps", "utf8")), exe)) {
      madvise(m.start, Number(m.end - m.start), MADV_DONTNEED);
      kb += m.rss;
    }
  } catch {
    // No /proc, or madvise refused: the pages stay, which costs memory and nothing else.
  }
  return kb;
}
