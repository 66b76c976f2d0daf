// `tsbpf load OBJ`: load (and attach) every program of an object and report what was
// created. With --pin DIR the programs (DIR/<C function name>), maps (DIR/maps/<name, '.' -> '_'>)
// and links (DIR/links/<program>) stay pinned after exit, like
// `bpftool prog loadall OBJ DIR`; without it the programs stay attached until
// Ctrl+C / SIGTERM and are detached cleanly.
import { existsSync, mkdirSync, realpathSync, rmSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { TsbpfError, UsageError } from "../errors.ts";
import { isAttachable } from "../link/attach.ts";
import { AttachError, type Link } from "../link/link.ts";
import { type Collection, loadCollection } from "../loader/collection.ts";
import type { LoadStep } from "../loader/steps.ts";
import { closeFd, linkInfo, mapInfo, objGet, objGetInfoRaw, progInfo } from "../sys/bpf.ts";
import { mountIfAbsent, mountPointsOf } from "../sys/fs.ts";
import { parseCommandArgs } from "./args.ts";
import type { Command } from "./command.ts";
import { attachHint, attachOptionsFor, LOAD_ATTACH_HELP, LOAD_ATTACH_OPTIONS } from "./load-attach.ts";
import { NET_ATTACH_HELP, NET_ATTACH_OPTIONS, planNetAttach } from "./load-net.ts";

const help = `Usage: tsbpf load OBJ [options]

Load every map and program of the BPF object OBJ (a path, or the name of an
embedded object), attach each program by its SEC() kind, and report the ids of
what was created. Without --pin the programs stay attached until Ctrl+C or
SIGTERM, then everything is detached and closed.

Options:
      --pin DIR     pin programs at DIR/<function name>, maps at DIR/maps/<map name>
                    (and links at DIR/links/<function name>), then exit leaving them
                    in the kernel (like 'bpftool prog loadall OBJ DIR'); DIR must be
                    on a bpf filesystem, e.g. /sys/fs/bpf/myobj
      --no-attach   load only; do not attach
${LOAD_ATTACH_HELP}
${NET_ATTACH_HELP}
      --btf FILE    target BTF for CO-RE instead of /sys/kernel/btf/vmlinux
      --no-cache    redo CO-RE instead of reusing results stored for this kernel
                    (also TSBPF_NO_CACHE=1)
      --json        print the report as one JSON document
  -h, --help        show this help

The report prints every pin path. Removing DIR (rm -r DIR) unpins everything; the
programs detach once no pinned link or other holder remains.`;

interface Report {
  object: string;
  btf: { id?: number; rejected?: string };
  maps: {
    name: string;
    type: string;
    id: number;
    key_size: number;
    value_size: number;
    max_entries: number;
    pinned?: string;
  }[];
  programs: {
    name: string;
    section: string;
    type: string;
    id: number;
    insns: number;
    xlated_bytes: number;
    verified_insns: number;
    pinned?: string;
  }[];
  links: { program: string; kind: string; target: string; method: string; id?: number; pinned?: string }[];
  notes: string[];
}

function btfId(fd: number): number | undefined {
  try {
    // struct bpf_btf_info { __u64 btf; __u32 btf_size; __u32 id; ... }
    const b = objGetInfoRaw(fd, 32);
    return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(12, true);
  } catch {
    return undefined;
  }
}

function buildReport(coll: Collection, links: Link[], notes: string[]): Report {
  const r: Report = { object: coll.spec.path, btf: {}, maps: [], programs: [], links: [], notes };
  if (coll.btfFd !== undefined) r.btf.id = btfId(coll.btfFd);
  if (coll.btfRejected) r.btf.rejected = coll.btfRejected;
  const seen = new Set<number>();
  for (const [name, m] of Object.entries(coll.maps)) {
    if (seen.has(m.fd) || name !== m.spec.name) continue;
    seen.add(m.fd);
    const i = mapInfo(m.fd);
    r.maps.push({
      name,
      type: m.spec.typeName,
      id: i.id,
      key_size: i.key_size,
      value_size: i.value_size,
      max_entries: i.max_entries,
    });
  }
  for (const [name, p] of Object.entries(coll.programs)) {
    const i = progInfo(p.fd);
    r.programs.push({
      name,
      section: p.spec.section,
      type: p.spec.typeName,
      id: i.id,
      insns: p.linked.insns.length / 8,
      xlated_bytes: i.xlated_prog_len,
      verified_insns: i.verified_insns,
    });
  }
  for (const l of links) {
    r.links.push({
      program: l.program,
      kind: l.kind,
      target: l.target,
      method: l.method,
      id: l.isBpfLink ? linkInfo(l.fd).id : undefined,
    });
  }
  return r;
}

function printText(r: Report, pinDir: string | undefined): void {
  const out: string[] = [`object ${r.object}`];
  out.push(r.btf.id !== undefined ? `  btf       id ${r.btf.id}` : `  btf       ${r.btf.rejected ?? "none"}`);
  for (const m of r.maps)
    out.push(
      `  map       ${m.name} (${m.type}) id ${m.id}: key ${m.key_size}B value ${m.value_size}B max_entries ${m.max_entries}${m.pinned ? `, pinned ${m.pinned}` : ""}`,
    );
  for (const p of r.programs)
    out.push(
      `  program   ${p.name} (${p.type}, SEC("${p.section}")) id ${p.id}: ${p.insns} insns, ${p.xlated_bytes / 8} xlated, ${p.verified_insns} verified${p.pinned ? `, pinned ${p.pinned}` : ""}`,
    );
  for (const l of r.links)
    out.push(
      `  link      ${l.program} -> ${l.kind} ${l.target}${l.id !== undefined ? ` (link id ${l.id})` : ""}${l.pinned ? `, pinned ${l.pinned}` : ""}`,
    );
  for (const n of r.notes) out.push(`  note      ${n}`);
  if (pinDir) out.push(`pinned under ${pinDir} (remove with: rm -r ${pinDir})`);
  console.log(out.join("\n"));
}

/** `dir` with its nearest existing ancestor's symlinks resolved (the rest does not exist yet). */
function realTarget(dir: string): string {
  let base = resolve(dir);
  while (!existsSync(base) && dirname(base) !== base) base = dirname(base);
  return join(realpathSync(base), relative(base, resolve(dir)));
}

/**
 * Pins can only live on a bpf file system (bpf_obj_pin fails with EPERM elsewhere), so
 * refuse any other --pin DIR before loading anything or creating directories there.
 */
function checkPinDir(dir: string): void {
  const abs = resolve(dir);
  if (abs === "/sys/fs/bpf" || abs.startsWith("/sys/fs/bpf/")) mountIfAbsent("bpf");
  const target = realTarget(abs);
  const mounts = mountPointsOf("bpf");
  if (mounts.some((m) => target === m || target.startsWith(m === "/" ? m : `${m}/`))) return;
  const where = mounts.length
    ? `bpf file systems are mounted at ${mounts.join(", ")}`
    : "no bpf file system is mounted (mount -t bpf bpf /sys/fs/bpf)";
  throw new UsageError(`load: --pin ${dir}: not inside a bpf file system; ${where}`);
}

/**
 * Pins programs (DIR/<name>), maps (DIR/maps/<name>) and links (DIR/links/<program>) and
 * records each path in the report. On failure the pins made so far are removed, so a
 * failed command leaves nothing in the kernel.
 */
function pinAll(coll: Collection, links: Link[], report: Report, pinDir: string): void {
  refuseStalePins(report, links, pinDir);
  const made: string[] = [];
  const pin = (path: string, fn: (p: string) => void) => {
    fn(path);
    made.push(path);
    return path;
  };
  try {
    mkdirSync(join(pinDir, "maps"), { recursive: true });
    for (const p of report.programs)
      p.pinned = pin(join(pinDir, p.name), (x) => coll.programs[p.name]?.pin(x));
    for (const m of report.maps) {
      // The report prints the path next to the name. A path that exists holds this
      // very map (refuseStalePins): a LIBBPF_PIN_BY_NAME map reused from DIR.
      const path = mapPinPath(pinDir, m.name);
      m.pinned = existsSync(path) ? path : pin(path, (x) => coll.maps[m.name]?.pin(x));
    }
    if (links.length) mkdirSync(join(pinDir, "links"), { recursive: true });
    for (const [i, l] of links.entries()) {
      if (!l.isBpfLink) {
        report.notes.push(
          `${l.program}: attached with ${l.method}, not a bpf_link: not pinned, detached at exit`,
        );
        continue;
      }
      (report.links[i] as Report["links"][number]).pinned = pin(join(pinDir, "links", l.program), (x) =>
        l.pin(x),
      );
    }
  } catch (e) {
    for (const p of made.reverse()) rmSync(p, { force: true });
    throw e;
  }
}

/** bpffs refuses names with '.' (bpf_mkobj_ops): "attach.rodata" is pinned as "attach_rodata", as libbpf does. */
const mapPinPath = (pinDir: string, name: string) => join(pinDir, "maps", name.replace(/\./g, "_"));

/** The id of the map pinned at `path`, or undefined when it is not a map. */
function pinnedMapId(path: string): number | undefined {
  let fd = -1;
  try {
    fd = objGet(path);
    return mapInfo(fd).id;
  } catch {
    return undefined;
  } finally {
    if (fd >= 0) closeFd(fd);
  }
}

/**
 * An earlier run's pins under DIR would be left in place (a map pin) or make pinning
 * fail halfway; a map pin in particular outlived the new program silently, which used
 * new maps while tools read the old one. So every path this run pins must be free, or
 * hold the very map this run uses (a LIBBPF_PIN_BY_NAME map reused from DIR): checked
 * before anything is pinned, so a refusal leaves the old pins as they were.
 */
function refuseStalePins(report: Report, links: Link[], pinDir: string): void {
  const taken = (path: string, what: string) =>
    new TsbpfError(
      `load: --pin ${pinDir}: ${path} already holds ${what}; remove the old pins first (rm -r ${pinDir}) or pin elsewhere`,
    );
  for (const p of report.programs) {
    const path = join(pinDir, p.name);
    if (existsSync(path)) throw taken(path, "an earlier run's pin");
  }
  for (const m of report.maps) {
    const path = mapPinPath(pinDir, m.name);
    if (!existsSync(path)) continue;
    const id = pinnedMapId(path);
    if (id !== m.id)
      throw taken(
        path,
        id === undefined
          ? "an earlier run's pin"
          : `map id ${id} from an earlier run (this run's '${m.name}' is id ${m.id})`,
      );
  }
  for (const l of links) {
    const path = join(pinDir, "links", l.program);
    if (l.isBpfLink && existsSync(path)) throw taken(path, "an earlier run's link");
  }
}

/** The parser's options (also what the man page and completions list). */
const OPTIONS = {
  pin: { type: "string" },
  "no-attach": { type: "boolean" },
  btf: { type: "string" },
  "no-cache": { type: "boolean" },
  json: { type: "boolean" },
  ...LOAD_ATTACH_OPTIONS,
  ...NET_ATTACH_OPTIONS,
} as const;

const load: Command = {
  name: "load",
  summary: "load (and attach) every program of a BPF object",
  help,
  spec: OPTIONS,
  async run(args) {
    const { values, positionals } = parseCommandArgs("load", args, OPTIONS);
    if (positionals.length !== 1)
      throw new UsageError("load: expected exactly one OBJ argument (see 'tsbpf load --help')");
    const obj = positionals[0] as string;
    const pinDir = values.pin;
    if (pinDir !== undefined && pinDir === "") throw new UsageError("load: --pin needs a directory");
    if (values.pid !== undefined && !/^[1-9]\d*$/.test(values.pid))
      throw new UsageError(`load: --pid ${values.pid}: expected a process id`);
    if (pinDir !== undefined) checkPinDir(pinDir);
    const notes: string[] = [];
    const onStep = (s: LoadStep) => {
      if (s.step === "btf_rejected")
        notes.push(`${s.reason}; programs loaded without BTF (no func_info/line_info)`);
    };
    const coll = await loadCollection(obj, { btf: values.btf, onStep, coreCache: !values["no-cache"] });
    const links: Link[] = [];
    try {
      if (!values["no-attach"]) {
        const net = planNetAttach(coll, values);
        for (const p of Object.values(coll.programs)) {
          const skip = net.skip(p);
          if (skip) {
            notes.push(skip);
            continue;
          }
          if (!isAttachable(p.spec)) {
            notes.push(
              `${p.name}: SEC("${p.spec.section}") programs are not attached (${p.spec.typeName}); run them with BPF_PROG_TEST_RUN`,
            );
            continue;
          }
          try {
            links.push(p.attach({ ...attachOptionsFor(p.spec, values), ...net.optionsFor(p) }));
            const after = net.after(p);
            if (after) notes.push(after);
          } catch (e) {
            if (e instanceof AttachError)
              throw new AttachError(`${e.message}; ${attachHint(p.spec)}`, { cause: e });
            throw e;
          }
        }
      }
      const report = buildReport(coll, links, notes);
      if (pinDir !== undefined) pinAll(coll, links, report, pinDir);
      if (values.json) console.log(JSON.stringify(report));
      else printText(report, pinDir);
      if (pinDir === undefined && links.length > 0) {
        if (!values.json) console.log("attached; press Ctrl+C to detach and exit");
        await new Promise<void>((resolve) => {
          const keep = setInterval(() => {}, 1 << 30);
          const stop = () => {
            clearInterval(keep);
            process.off("SIGINT", stop);
            process.off("SIGTERM", stop);
            resolve();
          };
          process.on("SIGINT", stop);
          process.on("SIGTERM", stop);
        });
      }
      return 0;
    } finally {
      coll.close();
    }
  },
};

export default load;
