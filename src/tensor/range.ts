/**
 * Numeric ranges for checking sizes and settings before anything is allocated: a `NumberRange` says which numbers a
 * value may take, `rangeText` says it in words ("an integer in [1, 4096]") and `checkRange` throws a one-line error
 * naming the value. Shared by the CLI's flag parsers (src/cli/flags.ts) and the library's validators (sampling
 * parameters, pipeline schedules, GRPO settings), so that a flag and the setting it maps to are described and checked
 * alike.
 *
 * Not here: turning text into numbers (src/cli/flags.ts).
 */

/** The numbers a value may take: [min, max] (or (min, max] with `minExclusive`), finite, integers when `integer`. */
export interface NumberRange {
  min: number;
  /** Inclusive; Infinity (or Number.MAX_SAFE_INTEGER for integers) for no upper bound. */
  max: number;
  integer?: boolean;
  minExclusive?: boolean;
}

/** Whether `x` is in `r` (finite; a safe integer when `r.integer`). */
export function inRange(x: number, r: NumberRange): boolean {
  return (
    Number.isFinite(x) &&
    (!r.integer || Number.isSafeInteger(x)) &&
    (r.minExclusive ? x > r.min : x >= r.min) &&
    x <= r.max
  );
}

/** `r` in words: "an integer in [1, 4096]", "a number in (0, 1]", "a number >= 0", "an integer >= 0". */
export function rangeText(r: NumberRange): string {
  const kind = r.integer ? 'an integer' : 'a number';
  const unbounded = r.max === Infinity || (r.integer && r.max >= Number.MAX_SAFE_INTEGER);
  if (unbounded) return `${kind} ${r.minExclusive ? '>' : '>='} ${r.min}`;
  return `${kind} in ${r.minExclusive ? '(' : '['}${r.min}, ${r.max}]`;
}

/**
 * Returns `x` if it is in `r`, else throws `${who}: ${name} must be <range>, got <shown>`, where `shown` is what the
 * user wrote (quoted by the caller) or, by default, the number.
 */
export function checkRange(who: string, name: string, x: number, r: NumberRange, shown: string = String(x)): number {
  if (!inRange(x, r)) throw new RangeError(`${who}: ${name} must be ${rangeText(r)}, got ${shown}`);
  return x;
}
