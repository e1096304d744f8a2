/** Warnings of the CLI: one line each on stderr, `warning: ...`, never on stdout (which scripts parse). */

/** Prints each of `warnings` as `warning: <text>` on stderr. */
export function warn(...warnings: string[]): void {
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
}
