/**
 * Small formatters for messages about untrusted input: sizes a person can read (`1.50 TiB`, `671.03B`) and a short,
 * bounded preview of a parsed JSON value that cannot overflow the stack on deeply nested input.
 *
 * Not here: tensor printing (src/tensor/format.ts).
 */

/** A count with a K/M/B/T suffix (`671.03B`, `1.5K`), or in exponent form from 10^15 on (`8.00e15`). */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1e15) return n.toExponential(2).replace('e+', 'e');
  if (a >= 1e12) return `${(n / 1e12).toFixed(2)}T`;
  if (a >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (a >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

const BINARY_UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** A byte count in binary units (`512 bytes`, `8.00 GiB`, `7.11 PiB`); beyond EiB in exponent form. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return `${n} bytes`;
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < BINARY_UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  if (Math.abs(v) >= 1024) return `${n.toExponential(2).replace('e+', 'e')} bytes`;
  return u === 0 ? `${n} bytes` : `${v.toFixed(2)} ${BINARY_UNITS[u]}`;
}

/**
 * JSON text of `v` cut to `max` characters (with `...`), for messages. A value nested too deeply to print (a stack
 * overflow in JSON.stringify) gives a placeholder instead of a crash.
 */
export function jsonPreview(v: unknown, max = 60): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = Array.isArray(v) ? '[... nested too deeply to show]' : '{... nested too deeply to show}';
  }
  return s.length > max ? `${s.slice(0, max)}...` : s;
}
