import { realpathSync } from "node:fs";

// Path strings as user space can read them: normalized as strings, and the note that
// shows the real executable beside argv (directories resolved with realpath(3)).

/**
 * A path with "." and ".." components and repeated slashes removed, as far as the
 * string alone allows (symlinks are not followed).
 */
export function normalizePath(p: string): string {
  const out: string[] = [];
  for (const c of p.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") out.pop();
    else out.push(c);
  }
  return `/${out.join("/")}`;
}

/**
 * The real executable when it is not what argv[0] says: argv[0] as the kernel resolved
 * it is the exec's filename (a shell looks a bare name up in PATH and passes the full
 * path), compared after normalization with the file the kernel executed (exe; the
 * filename when exe is unknown). undefined when they agree.
 */
export function realExecutable(
  argv0: string | undefined,
  filename: string,
  exe: string | undefined,
): string | undefined {
  const real = exe ?? filename;
  if (argv0 === undefined) return exe !== undefined && exe !== filename ? exe : undefined;
  const named = argv0.includes("/") ? argv0 : filename;
  return canonical(named) === canonical(real) ? undefined : real;
}

/** Normalized, with its directory through realpath(3): merged /usr's /bin is /usr/bin. */
function canonical(p: string): string {
  if (!p.startsWith("/")) return p;
  const n = normalizePath(p);
  const cut = n.lastIndexOf("/");
  try {
    const dir = realpathSync(n.slice(0, cut) || "/");
    return `${dir === "/" ? "" : dir}${n.slice(cut)}`;
  } catch {
    return n; // gone or unreadable: compare as written
  }
}
