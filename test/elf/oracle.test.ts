// Oracle: every section header and symbol we parse matches llvm-readelf-19's
// tables for every committed object (whitespace-normalised text only).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type ElfFile, parseElf } from "../../src/elf/elf.ts";
import { haveTool } from "../helpers/env.ts";
import { committedObjects } from "./objects.ts";

const SHT: Record<number, string> = {
  0: "NULL",
  1: "PROGBITS",
  2: "SYMTAB",
  3: "STRTAB",
  4: "RELA",
  5: "HASH",
  6: "DYNAMIC",
  7: "NOTE",
  8: "NOBITS",
  9: "REL",
  18: "SYMTAB_SHNDX",
  1879002115: "LLVM_ADDRSIG",
};
const STT = ["NOTYPE", "OBJECT", "FUNC", "SECTION", "FILE", "COMMON", "TLS"];
const STB = ["LOCAL", "GLOBAL", "WEAK"];
const STV = ["DEFAULT", "INTERNAL", "HIDDEN", "PROTECTED"];
// llvm-readelf's flag letters, in the order it prints them.
const FLAG_LETTERS: [number, string][] = [
  [0x1, "W"],
  [0x2, "A"],
  [0x4, "X"],
  [0x10, "M"],
  [0x20, "S"],
  [0x40, "I"],
  [0x80, "L"],
  [0x100, "O"],
  [0x200, "G"],
  [0x400, "T"],
  [0x800, "C"],
  [0x80000000, "E"],
  [0x200000, "R"],
];

function flagString(flags: number): string {
  return FLAG_LETTERS.filter(([bit]) => (flags & bit) !== 0)
    .map(([, l]) => l)
    .sort()
    .join("");
}

interface SecRow {
  nr: number;
  name: string;
  type: string;
  addr: number;
  off: number;
  size: number;
  es: number;
  flg: string;
  lk: number;
  inf: number;
  al: number;
}
interface SymRow {
  num: number;
  value: number;
  size: number;
  type: string;
  bind: string;
  vis: string;
  ndx: string;
  name: string;
}

function readelf(path: string): { sections: SecRow[]; symbols: SymRow[] } {
  const r = spawnSync("llvm-readelf-19", ["-S", "-s", "--wide", path], { encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  const sections: SecRow[] = [];
  const symbols: SymRow[] = [];
  for (const line of r.stdout.split("\n")) {
    const sec = /^\s*\[\s*(\d+)\]\s(.*)$/.exec(line);
    if (sec) {
      const toks = (sec[2] as string).trim().split(/\s+/);
      const ai = toks.findIndex((t, i) => i > 0 && /^[0-9a-f]{16}$/.test(t));
      if (ai < 0) continue;
      const rest = toks.slice(ai + 1);
      const flg = rest.length === 7 ? (rest[3] as string) : "";
      const [lk, inf, al] = rest.slice(-3).map(Number) as [number, number, number];
      sections.push({
        nr: Number(sec[1]),
        name: toks.slice(0, ai - 1).join(" "),
        type: toks[ai - 1] as string,
        addr: Number.parseInt(toks[ai] as string, 16),
        off: Number.parseInt(rest[0] as string, 16),
        size: Number.parseInt(rest[1] as string, 16),
        es: Number.parseInt(rest[2] as string, 16),
        flg: flg.split("").sort().join(""),
        lk,
        inf,
        al,
      });
      continue;
    }
    const sym = /^\s*(\d+):\s+([0-9a-f]{16})\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s?(.*)$/.exec(line);
    if (sym) {
      symbols.push({
        num: Number(sym[1]),
        value: Number.parseInt(sym[2] as string, 16),
        size: Number(sym[3]),
        type: sym[4] as string,
        bind: sym[5] as string,
        vis: sym[6] as string,
        ndx: sym[7] as string,
        name: sym[8] as string,
      });
    }
  }
  return { sections, symbols };
}

function ndxString(elf: ElfFile, shndx: number): string {
  if (shndx === 0) return "UND";
  if (shndx === 0xfff1) return "ABS";
  if (shndx === 0xfff2) return "COM";
  void elf;
  return String(shndx);
}

const objects = [
  ...committedObjects(),
  ...(process.env.TSBPF_EXTRA_OBJECTS?.split(":").filter(Boolean) ?? []),
];

test("there are committed objects to check", () => {
  assert.ok(objects.length > 0);
});

if (haveTool("llvm-readelf-19")) {
  for (const path of objects) {
    test(`sections and symbols of ${basename(path)} match llvm-readelf-19`, () => {
      const elf = parseElf(new Uint8Array(readFileSync(path)), basename(path));
      const want = readelf(path);
      assert.ok(want.sections.length > 0, "parsed no sections from llvm-readelf");
      assert.is(elf.sections.length, want.sections.length, "section count");
      for (const w of want.sections) {
        const s = elf.sections[w.nr];
        assert.ok(s, `section ${w.nr}`);
        if (!s) continue;
        const at = `section [${w.nr}] ${w.name}`;
        assert.is(s.name, w.name, `${at}: name`);
        assert.is(SHT[s.type] ?? `0x${s.type.toString(16)}`, w.type, `${at}: type`);
        assert.is(s.addr, w.addr, `${at}: address`);
        assert.is(s.offset, w.off, `${at}: offset`);
        assert.is(s.size, w.size, `${at}: size`);
        assert.is(s.entsize, w.es, `${at}: entsize`);
        assert.is(flagString(s.flags), w.flg, `${at}: flags`);
        assert.is(s.link, w.lk, `${at}: link`);
        assert.is(s.info, w.inf, `${at}: info`);
        assert.is(s.addralign, w.al, `${at}: addralign`);
        if (s.type !== 8 && s.type !== 0) assert.is(s.data.length, s.size, `${at}: data length`);
      }
      assert.ok(want.symbols.length > 0, "parsed no symbols from llvm-readelf");
      assert.is(elf.symbols.length, want.symbols.length, "symbol count");
      for (const w of want.symbols) {
        const s = elf.symbols[w.num];
        assert.ok(s, `symbol ${w.num}`);
        if (!s) continue;
        const at = `symbol ${w.num} ${w.name}`;
        assert.is(s.value, w.value, `${at}: value`);
        assert.is(s.size, w.size, `${at}: size`);
        assert.is(STT[s.type], w.type, `${at}: type`);
        assert.is(STB[s.bind], w.bind, `${at}: bind`);
        assert.is(STV[s.visibility], w.vis, `${at}: visibility`);
        assert.is(ndxString(elf, s.shndx), w.ndx, `${at}: ndx`);
        // llvm-readelf prints a section symbol's section name in place of its empty st_name.
        const name = s.type === 3 && s.name === "" ? (elf.sections[s.shndx]?.name ?? "") : s.name;
        assert.is(name, w.name, `${at}: name`);
      }
      // Every relocation section targets a real section and names real symbols.
      for (const rs of elf.relSections) {
        for (const rel of rs.relocations) assert.ok(rel.symbol < elf.symbols.length);
      }
    });
  }
}

test.run();
