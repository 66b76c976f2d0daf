// Suspicious-behaviour rules evaluated on every exec. Each rule returns the reason it
// fired (shown to the user) or null. The built-ins fix the tutorial's heuristics:
// there is no "ROOT_SPAWN" (uid 0 with ppid != 1 is nearly every root process); a
// shell is suspicious when a network-facing service spawned it, whatever the uid.
import type { AlertEvent, ExecEvent, Severity } from "./events.ts";
import { compileRegex } from "./match/regex.ts";
import { normalizePath } from "./paths.ts";
import type { ProcessEntry, ProcessTable } from "./process-table.ts";

export interface RuleContext {
  table: ProcessTable;
  /**
   * Optional check that a directory is world-writable (mode o+w), used for paths
   * outside the fixed list (e.g. /run/user/*). The CLI passes a cached stat(2).
   */
  isWorldWritableDir?: (dir: string) => boolean;
}

/** A rule over exec events: check() returns why the exec is suspicious, or null. */
export interface Rule {
  id: string;
  severity: Severity;
  description: string;
  /** The reason this exec matches the rule, or null when it does not. */
  check(ev: ExecEvent, ctx: RuleContext): string | null;
}

export const basename = (p: string) => p.slice(p.lastIndexOf("/") + 1);
const dirname = (p: string) => (p.lastIndexOf("/") > 0 ? p.slice(0, p.lastIndexOf("/")) : "/");

/** Paths that identify the executable: the kernel's exe (if known) and the execve filename. */
function paths(ev: ExecEvent): string[] {
  return ev.exe && ev.exe !== ev.filename ? [ev.exe, ev.filename] : [ev.filename];
}

/** Directories writable by everyone on a standard Linux system (FHS; tmpfs /dev/shm). */
const WORLD_WRITABLE = ["/tmp/", "/var/tmp/", "/dev/shm/"];

const worldWritable: Rule = {
  id: "exec_world_writable",
  severity: "high",
  description: "executable in a world-writable directory, or under one without the sticky bit",
  check(ev, ctx) {
    const f = ev.exe_flags;
    if (f !== undefined && ev.exe !== undefined) {
      // The kernel's view of the file it executed (bpf/process.bpf.c exe_facts).
      if (f.includes("dir_world_writable"))
        return `executed ${ev.exe}: its directory is world-writable (mode ${ev.exe_dir_mode}${f.includes("dir_sticky") ? ", sticky" : ""})`;
      if (f.includes("ancestor_world_writable"))
        return `executed ${ev.exe}: a directory above it is world-writable without the sticky bit`;
      // A #! script: the kernel executed its interpreter (exe); the script itself is
      // known only by the path string, checked as far as user space can (racy).
      if (ev.filename.startsWith("/") && basename(ev.filename) !== basename(ev.exe)) {
        const script = normalizePath(ev.filename);
        if (ctx.isWorldWritableDir?.(dirname(script)))
          return `executed ${script} (its directory is world-writable)`;
      }
      return null;
    }
    // No kernel facts (a seeded process, or a recording from an older tracer): the
    // path strings, normalized, against the usual world-writable directories.
    const candidates = ev.exe !== undefined ? [ev.exe] : [];
    if (ev.filename.startsWith("/")) candidates.push(ev.filename);
    for (const p of candidates) {
      const clean = normalizePath(p.replace(/ \(deleted\)$/, ""));
      if (WORLD_WRITABLE.some((d) => clean.startsWith(d))) return `executed ${clean}`;
      if (ctx.isWorldWritableDir?.(dirname(clean)))
        return `executed ${clean} (its directory is world-writable)`;
    }
    return null;
  },
};

const fileless: Rule = {
  id: "fileless_exec",
  severity: "high",
  description: "fileless execution: a memfd, or a file deleted before or while it ran",
  check(ev) {
    const f = ev.exe_flags;
    if (f !== undefined) {
      // The kernel's view: a file with no path (memfd_create) or no link left.
      if (f.includes("memfd")) return `executed memfd ${ev.exe} (through ${ev.filename})`;
      if (f.includes("anonymous")) return `executed a file with no path ${ev.exe} (through ${ev.filename})`;
      if (f.includes("unlinked")) return `executed deleted file ${ev.exe} (through ${ev.filename})`;
      return null;
    }
    // /proc/<pid>/exe of a seeded process (the kernel's d_path): "/memfd:x (deleted)".
    const exe = ev.exe;
    if (exe === undefined) return null;
    if (exe.startsWith("/memfd:")) return `executed memfd ${exe}`;
    if (exe.endsWith(" (deleted)")) return `executed deleted file ${exe}`;
    return null;
  },
};

// The reverse-shell heuristics run on a string a traced process controls (up to 32 KiB
// of argv), so every pattern goes through the linear-time engine: no input makes a
// test cost more than O(length × pattern). Compiled once, at load (each keeps a DFA
// cache: memory of work done, not state that changes an answer).
const rx = (source: string, flags = "") => compileRegex(source, flags);
const NC_NAMES = "(nc|ncat|netcat|nc\\.traditional|nc\\.openbsd)";
const INTERP_NAMES = "(python[\\d.]*|perl[\\d.]*|ruby[\\d.]*|php[\\d.]*|node|nodejs|lua[\\d.]*)";
/** An interpreter, then (any words) a code flag: -c, -e, -r, -E, or combined (-Ic). */
const INTERP_CODE = `(^|[\\s/;&|(])${INTERP_NAMES}\\s+(\\S+\\s+)*-[A-Za-z]*[ceErR]\\s`;
function buildPatterns() {
  return {
    devNet: rx("/dev/(tcp|udp)/[^\\s/]+/\\d+"),
    devNetAny: rx("/dev/(tcp|udp)/"),
    shellWord: rx("(^|\\s|/)(ba|z|k)?sh\\b"),
    ncExec: rx(
      `(^|[\\s;&|/(])${NC_NAMES}\\s+(\\S+\\s+)*(-[a-zA-Z]*[ec]\\b|--exec\\b|--sh-exec\\b|--lua-exec\\b|-[a-zA-Z]*e\\S)`,
    ),
    ncName: rx(`^${NC_NAMES}$`),
    ncFlag: rx("^(-[a-zA-Z]*[ec]|--(sh-|lua-)?exec)$"),
    socat: rx("\\bsocat\\b"),
    socatExec: rx("\\b(exec|system):", "i"),
    socatNet: rx("\\b(tcp|udp|openssl|ssl)[46]?(-connect|-listen)?:", "i"),
    fifo: rx("\\bmkfifo\\b|\\bmknod\\b\\s+\\S+\\s+p\\b"),
    netClient: rx("(^|[\\s;&|/])(nc|ncat|netcat|telnet|openssl\\s+s_client)\\b"),
    interpSocket: rx(`${INTERP_CODE}.*(socket|TCPSocket|fsockopen|net\\.(connect|Socket))`, "is"),
    interpRun: rx(`${INTERP_CODE}.*(connect|dup2|exec|spawn|popen|pty|system|proc_open|\\bsh\\b)`, "is"),
    interpName: rx(`(^|[\\s/;&|(])${INTERP_NAMES}\\s`),
    shell: rx("^(ba|da|z|k|mk)?sh$"),
  };
}

const P = buildPatterns();

/**
 * Returns a reason if a command line (argv, and the payload of `sh -c`) looks like a
 * reverse shell. A string heuristic: what it can and cannot see is in docs/rules.md.
 */
export function reverseShellReason(argv: readonly string[], depth = 0): string | null {
  const line = argv.join(" ");
  if (P.devNet.test(line)) {
    // The redirection itself, for the reason: from its start to the next blank.
    const at = Math.max(line.indexOf("/dev/tcp/"), line.indexOf("/dev/udp/"));
    const end = line.slice(at).search(/\s/);
    return `bash network redirection ${line.slice(at, end < 0 ? undefined : at + end)}`;
  }
  if (P.devNetAny.test(line) && P.shellWord.test(line)) return "shell redirected to /dev/tcp";
  // nc -e /bin/sh host port | ncat --exec | nc -c sh (also inside `sh -c "..."` payloads)
  if (P.ncExec.test(line) || (P.ncName.test(basename(argv[0] ?? "")) && argv.some((a) => P.ncFlag.test(a))))
    return "netcat executing a program (-e/-c)";
  if (P.socat.test(line) && P.socatExec.test(line) && P.socatNet.test(line))
    return "socat connecting a socket to a program";
  if (P.fifo.test(line) && P.netClient.test(line)) return "named pipe wired to a network client";
  // python -c 'import socket,...;s.connect(...);os.dup2(...)' and perl/ruby/php equivalents.
  if (P.interpSocket.test(line) && P.interpRun.test(line)) {
    const name = argv.map(basename).find((a) => P.interpName.test(`${a} `)) ?? "interpreter";
    return `${name} one-liner opening a socket and running a program`;
  }
  // Shells running a payload via -c: scan the payload's words as a command line too
  // (one level: a payload is one argument, so this cannot recurse further).
  if (depth === 0 && argv.length >= 3 && P.shell.test(basename(argv[0]))) {
    const at = argv.indexOf("-c");
    const payload = at >= 0 ? (argv[at + 1] ?? "") : "";
    const inner = payload.split(/\s+/).filter(Boolean);
    if (inner.length > 1) return reverseShellReason(inner, 1);
  }
  return null;
}

const reverseShell: Rule = {
  id: "reverse_shell",
  severity: "critical",
  description: "command line of a reverse shell (/dev/tcp, nc -e, socat exec:, interpreter socket one-liner)",
  check: (ev) => reverseShellReason(ev.argv),
};

const hidden: Rule = {
  id: "hidden_executable",
  severity: "medium",
  description: "executable whose file name starts with '.' (hidden)",
  check(ev) {
    for (const p of paths(ev)) {
      const b = basename(p);
      if (b.startsWith(".") && b !== "." && b !== "..") return `hidden file name ${b}`;
    }
    return null;
  },
};

/** Shells (including busybox applets invoked as sh/ash). */
export const SHELLS = new Set([
  "sh",
  "bash",
  "dash",
  "zsh",
  "ksh",
  "mksh",
  "ash",
  "fish",
  "csh",
  "tcsh",
  "rbash",
  "busybox",
]);

/**
 * Network-facing daemons that should never need an interactive shell. sshd is not in
 * the list: spawning shells is its job.
 */
const SERVICES =
  /^(nginx|httpd|apache2?|lighttpd|caddy|php-fpm.*|php-cgi|mysqld|mariadbd|postgres|postmaster|redis-server|mongod|memcached|tomcat.*|jetty|gunicorn|uwsgi|unicorn|puma|named|dnsmasq|vsftpd|proftpd|smbd|exim4?|postfix|master|dovecot|squid|haproxy|traefik|envoy|elasticsearch|rabbitmq-server|beam\.smp|influxd|grafana.*|jenkins)$/;
/** Runtimes that are services only when a service manager started them (parent is init/containerd). */
const RUNTIMES = /^(java|node|nodejs|python[\d.]*|ruby|perl|dotnet|php)$/;
const SUPERVISORS =
  /^(systemd|init|containerd-shim.*|runc|tini|dumb-init|s6-supervise|supervisord|runsv|pm2.*)$/;

function names(e: ProcessEntry): string[] {
  return [e.comm, basename(e.exe ?? ""), basename(e.filename)].filter(Boolean);
}

/** Whether an entry is a service process; returns its name. */
export function serviceName(e: ProcessEntry, table: ProcessTable): string | null {
  const n = names(e);
  const svc = n.find((x) => SERVICES.test(x));
  if (svc) return svc;
  const rt = n.find((x) => RUNTIMES.test(x));
  if (rt) {
    const parent = table.get(e.ppid);
    if (e.ppid === 1 || (parent && names(parent).some((x) => SUPERVISORS.test(x)))) return `${rt} (service)`;
  }
  return null;
}

const shellFromService: Rule = {
  id: "shell_from_service",
  severity: "high",
  description: "shell spawned by a network service (web server, database, app server)",
  check(ev, ctx) {
    const prog = basename(ev.filename);
    const isShell = SHELLS.has(prog) && (prog !== "busybox" || /sh$/.test(basename(ev.argv[0] ?? "")));
    if (!isShell) return null;
    // Skip over intermediate shells (nginx → sh → bash); the first non-shell ancestor decides.
    let depth = 0;
    for (const anc of ctx.table.ancestry(ev.pid)) {
      if (++depth > 4) break;
      const svc = serviceName(anc, ctx.table);
      if (svc) return `${prog} started under ${svc} (pid ${anc.pid})`;
      if (!names(anc).some((x) => SHELLS.has(x))) break;
    }
    return null;
  },
};

export const BUILTIN_RULES: readonly Rule[] = [
  worldWritable,
  fileless,
  reverseShell,
  hidden,
  shellFromService,
];

/** Builds the alert event for a rule that fired on ev. */
export function makeAlert(
  ev: ExecEvent,
  rule: Pick<Rule, "id" | "severity" | "description">,
  reason: string,
): AlertEvent {
  const alert: AlertEvent = {
    event: "alert",
    time: ev.time,
    pid: ev.pid,
    ppid: ev.ppid,
    uid: ev.uid,
    gid: ev.gid,
    comm: ev.comm,
    exec_id: ev.exec_id,
    parent_exec_id: ev.parent_exec_id,
    rule: rule.id,
    severity: rule.severity,
    description: rule.description,
    reason,
    filename: ev.filename,
  };
  if (ev.tid !== undefined) alert.tid = ev.tid;
  return alert;
}

/**
 * Runs rules on one exec event. Call it after table.apply(ev) so the process's
 * parent links are current. A rule that throws is reported as not matching.
 */
export function evaluate(
  ev: ExecEvent,
  ctx: RuleContext,
  rules: readonly Rule[] = BUILTIN_RULES,
): AlertEvent[] {
  const out: AlertEvent[] = [];
  for (const r of rules) {
    let reason: string | null = null;
    try {
      reason = r.check(ev, ctx);
    } catch {
      reason = null;
    }
    if (reason !== null) out.push(makeAlert(ev, r, reason));
  }
  return out;
}
