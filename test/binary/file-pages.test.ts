import { readFileSync, readlinkSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { dropExecutablePages, droppableMappings, parseSmaps } from "../../src/binary/file-pages.ts";

const SAMPLE = `00400000-00500000 r--p 00000000 08:01 42     /opt/tsbpf
Size:               1024 kB
Rss:                 512 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
00500000-00600000 r-xp 00100000 08:01 42     /opt/tsbpf
Rss:                 900 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
00600000-00610000 r--p 00200000 08:01 42     /opt/tsbpf
Rss:                  64 kB
Private_Dirty:        64 kB
Anonymous:            64 kB
00610000-00620000 rw-p 00210000 08:01 42     /opt/tsbpf
Rss:                  64 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
00620000-00630000 r--p 00000000 08:01 43     /usr/lib/libc.so.6
Rss:                  64 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
00640000-00650000 r--p 00230000 08:01 42     /opt/tsbpf
Rss:                  64 kB
Private_Dirty:        64 kB
Anonymous:             0 kB
00630000-00640000 r--p 00220000 08:01 42     /opt/tsbpf
Rss:                   0 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
7f0000000000-7f0000001000 r--s 00000000 00:0f 99     /opt/tsbpf
Rss:                   4 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
`;

test("parseSmaps reads each mapping's range, permissions, path and page counts", () => {
  const maps = parseSmaps(SAMPLE);
  assert.is(maps.length, 8);
  assert.equal(maps[0], {
    start: 0x400000n,
    end: 0x500000n,
    perms: "r--p",
    path: "/opt/tsbpf",
    rss: 512,
    privateDirty: 0,
    anonymous: 0,
  });
  assert.is(maps[2]?.privateDirty, 64);
  assert.is(maps[7]?.start, 0x7f0000000000n);
});

test("only private, read-only mappings of the file with resident pages and no private copies are dropped", () => {
  const picked = droppableMappings(parseSmaps(SAMPLE), "/opt/tsbpf").map((m) => m.start);
  // Not: the relocated (copied-on-write: anonymous) r--p, the writable data, another
  // file, a mapping with nothing resident, a shared mapping. Yes: the one whose file
  // pages are dirty in the page cache (a freshly written binary), no copy of ours.
  assert.equal(picked, [0x400000n, 0x500000n, 0x640000n]);
  const deleted = SAMPLE.replaceAll("/opt/tsbpf", "/opt/tsbpf (deleted)");
  assert.equal(
    droppableMappings(parseSmaps(deleted), "/opt/tsbpf").map((m) => m.start),
    [0x400000n, 0x500000n, 0x640000n],
  );
});

test("parseSmaps with a path keeps that file's entries, field for field", () => {
  const all = parseSmaps(SAMPLE);
  assert.equal(
    parseSmaps(SAMPLE, "/opt/tsbpf"),
    all.filter((m) => m.path === "/opt/tsbpf"),
  );
  assert.equal(parseSmaps(SAMPLE, "/opt/tsbp"), []);
});

test("parseSmaps agrees with the running process's own smaps", () => {
  const text = readFileSync("/proc/self/smaps", "utf8");
  const maps = parseSmaps(text);
  const exe = readlinkSync("/proc/self/exe");
  assert.ok(maps.some((m) => m.path === exe && m.perms === "r-xp" && m.rss > 0));
  assert.equal(
    parseSmaps(text, exe),
    maps.filter((m) => m.path === exe),
  );
});

function rssKb(): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1]);
}

test("dropExecutablePages: this node's clean pages leave the RSS and the process runs on", () => {
  const before = rssKb();
  const dropped = dropExecutablePages();
  const after = rssKb();
  assert.ok(dropped > 1024, `dropped ${dropped} kB`);
  // Some come straight back (this test's own code paths), most do not.
  assert.ok(after < before, `RSS ${before} kB → ${after} kB`);
  // Text and read-only data are refaulted from the file on use.
  assert.is(JSON.parse(JSON.stringify({ a: [1, 2, 3] })).a.length, 3);
  assert.match(new Intl.NumberFormat("en").format(1234.5), "1,234.5");
});

test.run();
