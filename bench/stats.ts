// SPDX-License-Identifier: GPL-2.0-or-later
// The boot benchmarks' statistics, pure: numbers and the guest's text in, numbers and words out.
// A bound is checked against every boot, not against medians alone: issue 11's "MemAvailable within
// 1 MiB of tiny-initramfs" compares two quantities that move from boot to boot (MemAvailable leaves
// out the pages on the per-CPU free lists, 0.3-3 MiB after switch_root freed the initramfs, different
// on every boot even on the instruction clock). A verdict is given only when every pairing of one
// boot of each agrees; otherwise the bench says that the spread allows none.

/** The median of the defined numbers (NaN left out); undefined when there is none. */
export function median(xs: (number | undefined)[]): number | undefined {
  const s = xs.filter((x): x is number => x !== undefined && !Number.isNaN(x)).sort((a, b) => a - b);
  if (!s.length) return undefined;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface FloorDelta {
  /** median(ours) − median(floor) */
  median: number;
  /** the worst pairing: min(ours) − max(floor) */
  low: number;
  /** the best pairing: max(ours) − min(floor) */
  high: number;
  /** met when even the worst pairing is within the bound, NOT met when even the best is not */
  verdict: 'met' | 'NOT met' | 'no verdict';
}

/**
 * How far `ours` stays under `floor` (a value where more is better, e.g. MiB available), against a
 * bound of `bound` under the floor; undefined without a sample on either side.
 */
export function floorDelta(ours: number[], floor: number[], bound: number): FloorDelta | undefined {
  const mo = median(ours);
  const mf = median(floor);
  if (mo === undefined || mf === undefined) return undefined;
  const low = Math.min(...ours) - Math.max(...floor);
  const high = Math.max(...ours) - Math.min(...floor);
  const verdict = low >= -bound ? 'met' : high < -bound ? 'NOT met' : 'no verdict';
  return { median: mo - mf, low, high, verdict };
}

const signed = (x: number, digits: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;

/** "−0.12 MiB (−1.50…+1.30; ≥ −1 MiB: no verdict: …)" for a table cell. */
export function floorDeltaText(d: FloorDelta | undefined, bound: number | undefined, unit = 'MiB'): string {
  if (!d) return '–';
  const range = `${signed(d.low, 2)}…${signed(d.high, 2)}`;
  if (bound === undefined) return `${signed(d.median, 2)} ${unit} (${range})`;
  const word = d.verdict === 'no verdict' ? 'no verdict: the boots spread across the bound' : d.verdict;
  return `${signed(d.median, 2)} ${unit} (${range}; ≥ −${bound} ${unit}: ${word})`;
}

/** MemAvailable plus every per-CPU list's pages (4 KiB each), from the `bench` action's memory lines. */
export function memoryWithPcpMiB(lines: string): number | undefined {
  const available = /^MemAvailable:\s+(\d+) kB/m.exec(lines);
  const counts = [...lines.matchAll(/^\s+count:\s+(\d+)$/gm)].map((m) => Number(m[1]));
  if (!available || !counts.length) return undefined;
  return (Number(available[1]) + 4 * counts.reduce((a, b) => a + b, 0)) / 1024;
}
