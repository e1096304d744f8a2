/**
 * The R1 recipe's one progress line: a `ProgressSink` that the recipe hands to every stage's trainer (and uses for its
 * own sampling and evaluation phases), which prefixes each phase with the stage, `[k/n name]` (k the stage's place in
 * the recipe, n its number of stages), and adds the whole recipe's elapsed time. On a terminal the stages' phases
 * share one live line, redrawn in place (an illustration):
 *
 *   [5/9 rl2] grpo  45% [=====>      ] 9/20  12s<15s  recipe 3m10s  reward 0.41  acc 38%  len 96
 *
 * and on a pipe each phase prints its first step, every N steps and its last (the trainer's own step line, prefixed,
 * with `recipe ELAPSED` and the phase's elapsed time and ETA), then its summary. Messages (stage titles, run-directory
 * lines) print above the live line. The numbers and the line mechanics are src/util/progress.ts's.
 *
 * Not here: what a stage's fields are (each trainer's), the stages (./r1.ts).
 */
import { type ProgressSink, formatDuration } from '../util/progress.js';

/** A ProgressSink that names the recipe's current stage on every phase (see the file header). */
export class RecipeProgress implements ProgressSink {
  private prefix = '';
  private readonly started: number;

  constructor(
    private readonly inner: ProgressSink,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = now();
  }

  /** The stage the next phases belong to: `k` of `n` (1-based), and its name. */
  stage(k: number, n: number, name: string): void {
    this.prefix = `[${k}/${n} ${name}]`;
  }

  /** The recipe's elapsed time. */
  elapsed(): string {
    return formatDuration(this.now() - this.started);
  }

  begin(name: string, total: number, opts?: { from?: number; unit?: string }): void {
    this.inner.begin(this.prefix ? `${this.prefix} ${name}` : name, total, opts);
  }

  update(done: number, fields: Readonly<Record<string, string>> = {}, line?: string, keep?: boolean): void {
    const recipe = this.elapsed();
    const text = line === undefined ? undefined : `${this.prefix ? `${this.prefix} ` : ''}${line}  recipe ${recipe}`;
    this.inner.update(done, { recipe, ...fields }, text, keep);
  }

  end(summary?: string): void {
    this.inner.end(summary);
  }

  line(text: string): void {
    this.inner.line(text);
  }
}
