/**
 * Ctrl-C (SIGINT) and SIGTERM for long-running trainers: the first signal asks the trainer to stop at the end of the
 * current step (it then saves a checkpoint, records the stop in run.json and returns); a second one exits at once
 * (the last checkpoint stays, the lock file is removed on exit). The command then exits with the signal's status:
 * 130 for SIGINT, 143 for SIGTERM (128 + the signal number, as a shell reports a process killed by it), so a script
 * that chains commands stops there too.
 *
 * Handlers are installed only by a caller that asks for them (the CLI's training commands create a `StopRequests` and
 * pass it to the run directory); a library caller keeps Node's default behaviour unless it opts in. A trainer notices
 * a request only when it yields to the event loop (`yieldToEventLoop`), which the trainers do once per step when
 * handlers watch the run.
 */

/** The signals a trainer stops on. */
export type StopSignal = 'SIGINT' | 'SIGTERM';

/** The exit status of a command stopped by `signal` (128 + its number). */
export function stopExitCode(signal: StopSignal): number {
  return signal === 'SIGINT' ? 130 : 143;
}

/** Lets signal handlers (and other callbacks) run: resolves on the next turn of the event loop. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Installed SIGINT/SIGTERM handlers that record a stop request. */
export class StopRequests {
  /** The first signal received, or null. */
  requested: StopSignal | null = null;
  private readonly handlers = new Map<StopSignal, () => void>();

  /** Installs the handlers; `log` gets one line when a signal arrives. */
  constructor(log: (line: string) => void) {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      const h = () => {
        if (this.requested) {
          log(`${sig} again: exiting now; the run resumes from its last checkpoint`);
          process.exit(stopExitCode(sig));
        }
        this.requested = sig;
        log(
          `${sig}: stopping after the current step and saving a checkpoint (${sig === 'SIGINT' ? 'press Ctrl-C' : 'send it'} again to exit at once)`,
        );
      };
      this.handlers.set(sig, h);
      process.on(sig, h);
    }
  }

  /** Removes the handlers (Node's defaults apply again). */
  dispose(): void {
    for (const [sig, h] of this.handlers) process.off(sig, h);
    this.handlers.clear();
  }
}
