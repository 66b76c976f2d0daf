#!/usr/bin/env node
// `npm run build`: the single self-contained binary dist/tsbpf (Node's "single
// executable application", Node >= 20.12). Steps:
//   1. esbuild bundles src/cli.ts into one CommonJS file (SEA mains must be CommonJS
//      and may require() only built-ins), with "koffi" redirected to src/binary/koffi-sea.ts;
//      the optional NATS client (@nats-io/transport-node, @nats-io/jetstream) is bundled
//      too: esbuild follows src/export/nats-client.ts's dynamic import() (evaluated only
//      when --nats or `tsbpf fleet` runs), so the build needs it installed (npm ci does);
//   2. dist/sea-config.json lists the assets: koffi's native addon and every bpf/*.bpf.o;
//   3. `node --experimental-sea-config` writes the blob: by default with a V8 start-up
//      snapshot of the evaluated bundle and the pre-parsed embedded objects (see
//      snapshotEntry below; --no-snapshot: the plain bundle with a code cache);
//   4. a copy of this node binary, stripped of its symbols, gets the blob injected by
//      postject under the NODE_SEA_BLOB note with Node's sentinel fuse.
//
// Hidden hook, for tests and field diagnosis: TSBPF_SELFTEST=koffi loads koffi in the
// binary and calls getpid(2) through libc; TSBPF_SELFTEST=assets lists the embedded
// objects. Both report on stderr after the normal command runs, and make the exit
// status 1 on failure. Under CI=true every lazily imported source file must exist;
// otherwise a missing sub-command is built as a stub that explains itself.
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire, isBuiltin } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
// Options (used by test/sea): --out <dir> (default dist), --bpf <dir> (objects to embed,
// default bpf), --no-snapshot.
const argv = process.argv.slice(2);
function option(name, fallback) {
  const i = argv.indexOf(name);
  if (i === -1) return fallback;
  if (argv[i + 1] === undefined) fail(`${name} needs a directory`);
  return resolve(argv[i + 1]);
}
const dist = option("--out", join(root, "dist"));
// --no-snapshot: the plain SEA (no V8 start-up snapshot), for A/B measurements.
const useSnapshot = !argv.includes("--no-snapshot");
const bpfDir = option("--bpf", join(root, "bpf"));
const require = createRequire(join(root, "package.json"));
const strict = process.env.CI === "true" || process.env.CI === "1";
// Node's fixed SEA sentinel (doc/api/single-executable-applications.md).
const SENTINEL = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
// Same key as KOFFI_ADDON_ASSET in src/binary/assets.ts.
const KOFFI_ADDON_ASSET = "koffi.node";
const t0 = Date.now();

function fail(msg) {
  console.error(`build-sea: ${msg}`);
  process.exit(1);
}

function step(msg) {
  console.log(`build-sea: [${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
}

// koffi ships one prebuilt addon per platform package; the binary embeds the one for
// the node binary being copied (glibc on Linux: koffi's musl build is for Alpine).
function koffiAddonPath() {
  const pkg = `@koromix/koffi-${process.platform}-${process.arch}`;
  let dir;
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    fail(`cannot find ${pkg} in node_modules (run 'npm ci' on ${process.platform}-${process.arch})`);
  }
  const file = join(dir, `${process.platform}_${process.arch}`, "koffi.node");
  if (!existsSync(file)) fail(`${pkg} has no ${relative(dir, file)}`);
  return file;
}

function bpfObjects() {
  if (!existsSync(bpfDir)) return [];
  return readdirSync(bpfDir)
    .filter((n) => n.endsWith(".bpf.o"))
    .sort()
    .map((n) => ({ name: n, path: join(bpfDir, n) }));
}

// The TSBPF_SELFTEST hook described above, run after the command itself.
const SELFTEST = `
function selftest() {
  const what = process.env.TSBPF_SELFTEST;
  if (!what) return;
  const say = (m) => process.stderr.write("tsbpf selftest: " + m + "\\n");
  const failed = (e) => { say(what + " FAILED: " + (e && e.message ? e.message : e)); process.on("exit", () => { process.exitCode = 1; }); };
  if (what === "koffi") {
    import("./src/binary/koffi-sea.ts").then((s) => {
      const koffi = s.getKoffi();
      const getpid = koffi.load("libc.so.6").func("int getpid(void)");
      const pid = getpid();
      if (pid !== process.pid) throw new Error("getpid() returned " + pid + ", expected " + process.pid);
      say("koffi " + koffi.version + " ok: getpid()=" + pid + ", addon loaded from " + s.addonLoadedFrom);
    }).catch(failed);
  } else if (what === "assets") {
    Promise.all([import("./src/binary/assets.ts"), import("node:crypto")]).then(([a, crypto]) => {
      for (const n of a.assetNames()) {
        const { bytes, path } = a.readObjectFile(n);
        say("asset " + n + " " + bytes.length + " " + crypto.createHash("sha256").update(bytes).digest("hex") + " " + path);
      }
      say("assets ok: sea=" + a.isSea());
    }).catch(failed);
  } else failed(new Error("unknown TSBPF_SELFTEST value (expected koffi or assets)"));
}
`;

// The plain entry: src/cli.ts runs main() at load (the banner sets __TSBPF_SEA__).
const PLAIN_ENTRY = `
import "./src/cli.ts";
${SELFTEST}
selftest();
`;

// The snapshot entry, run once by 'node --experimental-sea-config' (useSnapshot) at
// build time. Everything it evaluates lands in the binary's V8 heap snapshot: every
// module of the bundle (sub-commands included), each embedded BPF object parsed
// into its CollectionSpec, and the bytecode of the ELF → BTF → CO-RE path, which the
// warm-up ran once (src/binary/snapshot-warmup.ts). A start then only deserializes the heap and calls the
// function given to setDeserializeMainFunction. Snapshot rules (Node's
// v8.startupSnapshot): only built-ins may be require()d, and no native addon, open
// handle, fd or timer may be left, which is why src/sys binds koffi on first use and
// nothing reads the environment at module load.
function snapshotEntry(objects) {
  const list = JSON.stringify(objects.map((o) => [o.name, o.path]));
  return `
import { preloadCommands, run } from "./src/cli.ts";
import { setPreparsedSpec } from "./src/binary/assets.ts";
import { readCollectionSpec } from "./src/elf/collection.ts";
import { lastWarmUpError, warmUpEventPath, warmUpExplain, warmUpTraceLoad } from "./src/binary/snapshot-warmup.ts";
${SELFTEST}
const v8 = require("node:v8");
const { readFileSync } = require("node:fs");
for (const [name, path] of ${list}) {
  // A fresh ArrayBuffer, not a pooled Buffer; an object that does not parse is left
  // to the run-time path, which reports the error to the user.
  try { setPreparsedSpec(name, readCollectionSpec(new Uint8Array(readFileSync(path)), "embedded:" + name)); }
  catch (e) { console.warn("build-sea: " + name + " not pre-parsed: " + (e && e.message)); }
}
// Compile the start-up and load paths into the snapshot (src/binary/snapshot-warmup.ts).
async function warmUpTrace() {
  for (const [name, path] of ${list}) {
    const n = await warmUpTraceLoad(path);
    console.log("build-sea: warm-up opened a trace of " + name + " on a fake kernel (" + n + " processes seeded)" + (lastWarmUpError ? " (" + lastWarmUpError + ")" : ""));
    const e = warmUpEventPath(path);
    console.log("build-sea: warm-up wrote " + e + " synthetic " + name + " events" + (lastWarmUpError ? " (" + lastWarmUpError + ")" : ""));
  }
}
// selftest() runs at every start; run it once here too (a no-op unless TSBPF_SELFTEST is
// set) so that its bytecode is in the snapshot.
if (!process.env.TSBPF_SELFTEST) selftest();
warmUpTrace()
  .then(() => warmUpExplain(${list}.map(([name, path]) => ({ name, path }))))
  .then((n) => console.log("build-sea: warm-up explained " + n + " CO-RE records" + (lastWarmUpError ? " (" + lastWarmUpError + ")" : "")))
  .then(() => preloadCommands()).then(() => {
  v8.startupSnapshot.setDeserializeMainFunction(() => {
    void run(process.argv.slice(2));
    selftest();
  });
});
`;
}

function seaPlugin(stubbed) {
  const koffiSea = join(root, "src/binary/koffi-sea.ts");
  const koffiTs = join(root, "src/sys/koffi.ts");
  return {
    name: "tsbpf-sea",
    setup(build) {
      // src/sys/koffi.ts is replaced as a whole by src/binary/koffi-sea.ts (same getKoffi()).
      build.onResolve({ filter: /[\\/]koffi\.ts$/ }, (args) =>
        resolve(args.resolveDir, args.path) === koffiTs ? { path: koffiSea } : undefined,
      );
      build.onResolve({ filter: /^koffi$/ }, (args) => {
        // koffi's CommonJS entry: its ESM entry relies on import.meta.url.
        if (args.importer === koffiSea) return { path: require.resolve("koffi") };
        return {
          errors: [
            {
              text: `only src/binary/koffi-sea.ts may import koffi in the binary (imported by ${args.importer})`,
            },
          ],
        };
      });
      // koffi's loader require()s its platform package; hand it the addon that
      // src/binary/koffi-sea.ts loaded from the SEA asset.
      build.onResolve({ filter: /^@koromix\/koffi-/ }, () => ({
        path: "koffi-addon",
        namespace: "tsbpf-sea",
      }));
      build.onLoad({ filter: /^koffi-addon$/, namespace: "tsbpf-sea" }, () => ({
        contents: 'module.exports = globalThis[Symbol.for("tsbpf.koffi-sea.addon")];',
        loader: "js",
      }));
      // src/loader/spec-file.ts and src/sys/epoll-worker.ts read import.meta.url only
      // outside the SEA build (the branch is dead here: the binary finds its assets and
      // koffi's addon through src/binary); blank it so esbuild's empty-import-meta
      // warning is kept for real uses elsewhere, which would break in the binary.
      build.onLoad({ filter: /[\\/]src[\\/](loader[\\/]spec-file|sys[\\/]epoll-worker)\.ts$/ }, (args) => ({
        contents: readFileSync(args.path, "utf8").replaceAll("import.meta.url", "undefined"),
        loader: "ts",
      }));
      // A SEA has no dynamic import() callback: import("node:x") would throw at run
      // time, so route dynamic imports of built-ins through require().
      build.onResolve({ filter: /.*/ }, (args) =>
        args.kind === "dynamic-import" && isBuiltin(args.path)
          ? { path: args.path, namespace: "tsbpf-builtin" }
          : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: "tsbpf-builtin" }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(args.path)});`,
        loader: "js",
      }));
      // Sub-commands are imported lazily; while they are being written, a missing one
      // becomes a stub that says so instead of breaking the whole build.
      build.onResolve({ filter: /^\./ }, (args) => {
        if (args.kind !== "dynamic-import" || strict) return undefined;
        const target = resolve(args.resolveDir, args.path);
        if (existsSync(target)) return undefined;
        stubbed.push(relative(root, target));
        return { path: relative(root, target), namespace: "tsbpf-missing" };
      });
      build.onLoad({ filter: /.*/, namespace: "tsbpf-missing" }, (args) => ({
        contents:
          `import { TsbpfError } from ${JSON.stringify(join(root, "src/errors.ts"))};\n` +
          `throw new TsbpfError(${JSON.stringify(`this build of tsbpf lacks ${args.path} (it did not exist when dist/tsbpf was built)`)});\n`,
        loader: "js",
        resolveDir: root,
      }));
    },
  };
}

async function bundle(objects) {
  const stubbed = [];
  const outfile = join(dist, "tsbpf.cjs");
  const result = await esbuild
    .build({
      stdin: {
        contents: useSnapshot ? snapshotEntry(objects) : PLAIN_ENTRY,
        resolveDir: root,
        sourcefile: "sea-entry.js",
        loader: "js",
      },
      bundle: true,
      platform: "node",
      target: "node20",
      format: "cjs",
      outfile,
      minify: true,
      legalComments: "eof",
      // src/cli.ts runs main() when this global is set, whatever the binary is called
      // (plain build; the snapshot entry calls run() from its deserialize function).
      ...(useSnapshot ? {} : { banner: { js: "globalThis.__TSBPF_SEA__=true;" } }),
      define: {
        __TSBPF_SEA_BUILD__: "true",
        __TSBPF_BPF_ASSETS__: JSON.stringify(objects.map((o) => o.name)),
      },
      plugins: [seaPlugin(stubbed)],
      logLevel: "warning",
    })
    // esbuild has already printed each error with its file and line.
    .catch(() =>
      fail(
        `esbuild could not bundle src/cli.ts${strict ? " (CI=true: every imported file must exist)" : ""}`,
      ),
    );
  if (result.errors.length) fail("esbuild failed");
  if (stubbed.length)
    console.warn(`build-sea: WARNING: missing modules built as stubs: ${stubbed.join(", ")}`);
  return outfile;
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: "utf8" });
  if (r.error) return { ok: false, out: String(r.error.message) };
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}`.trim() };
}

async function main() {
  if (process.platform !== "linux") fail("the single binary is built on and for Linux");
  mkdirSync(dist, { recursive: true });
  const addon = koffiAddonPath();
  const objects = bpfObjects();
  step(
    `embedding ${objects.length ? objects.map((o) => o.name).join(", ") : "no BPF objects"} + koffi addon`,
  );

  const main = await bundle(objects);
  step(`bundled ${relative(root, main)} (${(statSync(main).size / 1024).toFixed(0)} KiB)`);

  const blob = join(dist, "sea-prep.blob");
  const config = {
    main,
    output: blob,
    disableExperimentalSEAWarning: true,
    // A V8 start-up snapshot of the evaluated bundle (see snapshotEntry). Without it,
    // compiled code cached in the blob: --version starts ~35% faster (PLATFORM.md).
    // Node ignores the code cache with a snapshot. Both are specific to this node
    // binary, which is the one copied below.
    useSnapshot,
    useCodeCache: !useSnapshot,
    assets: Object.fromEntries([[KOFFI_ADDON_ASSET, addon], ...objects.map((o) => [o.name, o.path])]),
  };
  const configPath = join(dist, "sea-config.json");
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
  const gen = run(process.execPath, ["--experimental-sea-config", configPath]);
  if (!gen.ok) fail(`node --experimental-sea-config failed:\n${gen.out}`);
  step(`wrote the SEA blob${useSnapshot ? " (with a V8 start-up snapshot)" : ""}`);

  const out = join(dist, "tsbpf");
  rmSync(out, { force: true });
  copyFileSync(process.execPath, out);
  chmodSync(out, 0o755);
  // Node's symbols are ~12 MB of the ~99 MB binary and unused at run time. Keep the
  // strip only if the stripped node still runs; the blob is injected afterwards.
  const strip = run("strip", [out]);
  const works = strip.ok && run(out, ["-e", "process.exit(0)"]).ok;
  if (!works) {
    console.warn(`build-sea: strip unavailable or broke node, keeping symbols (${strip.out})`);
    copyFileSync(process.execPath, out);
    chmodSync(out, 0o755);
  }

  const postject = join(dirname(require.resolve("postject/package.json")), "dist", "cli.js");
  const inj = run(process.execPath, [postject, out, "NODE_SEA_BLOB", blob, "--sentinel-fuse", SENTINEL]);
  if (!inj.ok) fail(`postject failed:\n${inj.out}`);
  chmodSync(out, 0o755);
  // Out of the page cache with it: postject wrote the file in one call, and the page
  // cache keeps such a file in large folios (512 KiB here), which Linux 6.18+ maps
  // whole on a page fault: the first runs would carry ~6 MB more RSS of Node's code
  // than the same binary does once read back by exec-time readahead (after a reboot,
  // or copied in small writes). `sync FILE` makes the pages clean, GNU dd's
  // `iflag=nocache count=0` is posix_fadvise(POSIX_FADV_DONTNEED) over the file.
  // bench/README.md, Memory.
  const cold = run("sync", [out]).ok && run("dd", [`if=${out}`, "iflag=nocache", "count=0"]).ok;
  if (!cold) console.warn("build-sea: could not drop dist/tsbpf from the page cache (sync/dd)");

  const check = run(out, ["--version"]);
  if (!check.ok) fail(`the built binary does not run: ${check.out}`);
  const mb = (statSync(out).size / 1e6).toFixed(1);
  step(`${relative(process.cwd(), out) || out}: ${mb} MB${works ? " (node stripped)" : ""}, '${check.out}'`);
}

await main();
