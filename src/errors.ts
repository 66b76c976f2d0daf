// Every error that tsbpf raises for a user derives from TsbpfError. The CLI prints
// `message` alone (no stack trace) and exits with `exitCode`.

/** The base of every error tsbpf raises: catch it to handle them all. */
export class TsbpfError extends Error {
  /** Process exit status the CLI uses: 1 for runtime errors, 2 for usage errors. */
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad command line: exit status 2. */
export class UsageError extends TsbpfError {
  override readonly exitCode = 2;
}
