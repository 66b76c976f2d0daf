// The man page and shell completions come from the option tables the parsers use:
// every option of every command appears in each, the shipped copies in share/ are
// current, the bash script completes, and groff renders the page without warnings.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { SHARE_FILES } from "../../scripts/gen-cli-docs.ts";
import { bashCompletion, commandOptions, manPage, zshCompletion } from "../../src/cli/completion.ts";
import { allCommands } from "../../src/cli/registry.ts";
import { haveTool, ROOT_DIR } from "../helpers/env.ts";

const cmds = await allCommands();

test("every command declares its parser options (table or spec)", () => {
  for (const c of cmds) assert.ok(c.options !== undefined || c.spec !== undefined, c.name);
});

test("every option of every command is in the man page, the bash and the zsh completion", () => {
  const man = manPage(cmds);
  const bash = bashCompletion(cmds);
  const zsh = zshCompletion(cmds);
  let n = 0;
  for (const c of cmds) {
    const names = c.options
      ? commandOptions(c).map((o) => [o.name, o.short] as const)
      : Object.entries(c.spec ?? {}).map(([k, o]) => [k, o.short] as const);
    assert.match(man, new RegExp(`^\\.SS ${c.name}$`, "m"), `man: command ${c.name}`);
    assert.ok(bash.includes(`    ${c.name})`), `bash: command ${c.name}`);
    assert.ok(zsh.includes(`'${c.name}:`), `zsh: command ${c.name}`);
    for (const [name, short] of names) {
      n++;
      assert.ok(man.includes(`\\fB\\-\\-${name.replace(/-/g, "\\-")}\\fR`), `man: ${c.name} --${name}`);
      assert.ok(bash.includes(`--${name}`), `bash: ${c.name} --${name}`);
      assert.ok(zsh.includes(`--${name}`), `zsh: ${c.name} --${name}`);
      if (short) assert.ok(man.includes(`\\fB\\-${short}\\fR`), `man: ${c.name} -${short}`);
    }
    // Help text from the table, not a placeholder, for the options of trace and replay.
    if (c.options) for (const o of commandOptions(c)) assert.ok(o.help.length > 10, `${c.name} --${o.name}`);
  }
  assert.ok(n > 60, `${n} options`);
});

test("the package ships what the tables generate (prepack writes share/)", () => {
  const pkg = JSON.parse(readFileSync(join(ROOT_DIR, "package.json"), "utf8"));
  assert.ok(pkg.files.includes("share"), "package files ship share/");
  assert.equal(pkg.man, ["share/man/man1/tsbpf.1"]);
  assert.match(pkg.scripts.prepack, /gen-cli-docs/);
  const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT_DIR, "scripts/gen-cli-docs.ts")], {
    cwd: ROOT_DIR,
    encoding: "utf8",
  });
  assert.is(r.status, 0, r.stderr);
  for (const [rel, gen] of Object.entries(SHARE_FILES))
    assert.is(readFileSync(join(ROOT_DIR, rel), "utf8"), gen(cmds), rel);
});

test("bash: 'tsbpf tra<TAB>', 'tsbpf trace --exit<TAB>', 'tsbpf trace --time <TAB>'", () => {
  const complete = (words: string[]) => {
    const script = `eval "$TSBPF_COMPLETION"
COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _tsbpf; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = spawnSync("bash", ["-c", script], {
      encoding: "utf8",
      env: { ...process.env, TSBPF_COMPLETION: bashCompletion(cmds) },
    });
    assert.is(r.status, 0, r.stderr);
    return r.stdout.trim().split("\n");
  };
  assert.equal(complete(["tsbpf", "tra"]), ["trace"]);
  assert.equal(complete(["tsbpf", "trace", "--exit"]), ["--exit-failed"]);
  assert.equal(complete(["tsbpf", "trace", "--time", ""]), ["abs", "rel"]);
  assert.ok(complete(["tsbpf", "replay", "--s"]).includes("--since"));
});

test("groff renders the man page with no warnings; zsh parses the completion", () => {
  if (haveTool("groff")) {
    const r = spawnSync("groff", ["-man", "-Tutf8", "-ww", "-z"], { input: manPage(cmds), encoding: "utf8" });
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stderr, "", r.stderr);
  }
  const z = spawnSync("sh", ["-c", "command -v zsh"], { encoding: "utf8" });
  if (z.status === 0) {
    const r = spawnSync("zsh", ["-n", join(ROOT_DIR, "share/zsh/site-functions/_tsbpf")], {
      encoding: "utf8",
    });
    assert.is(r.status, 0, r.stderr);
  }
});

test.run();
