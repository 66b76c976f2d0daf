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
  let resolved = named.startsWith("/") ? normalizePath(named) : named;
  // Symlinked directories (merged /usr: /bin -> usr/bin) are the same place.
  if (resolved.startsWith("/")) {
    const cut = resolved.lastIndexOf("/");
    try {
      const dir = realpathSync(resolved.slice(0, cut) || "/");
      resolved = `${dir === "/" ? "" : dir}${resolved.slice(cut)}`;
    } catch {
      // gone or unreadable: compare as written
    }
  }
  const realN = real.startsWith("/") ? normalizePath(real) : real;
  return resolved === realN ? undefined : real;
}
