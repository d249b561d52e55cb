// SPDX-License-Identifier: GPL-2.0-or-later
// The boot bench's memory verdict (bench/stats.ts): a verdict only when every pairing of boots agrees,
// and MemAvailable plus the per-CPU free lists read from the guest's own /proc text.
import { describe, expect, test } from 'bun:test';
import { floorDelta, floorDeltaText, median, memoryWithPcpMiB } from '../../bench/stats.ts';

describe('floorDelta', () => {
  // MiB available: tiny-initramfs steady, ours spread by the per-CPU lists (6.1, -icount, 5 boots each)
  const tiny = [428.67, 428.46, 428.37, 428.46, 428.61];
  const ours = [427.05, 429.61, 426.93, 429.40, 429.39];

  test('a spread across the bound gives no verdict, whatever the medians say', () => {
    const d = floorDelta(ours, tiny, 1)!;
    expect(d.median).toBeCloseTo(429.39 - 428.46, 6);
    expect(d.low).toBeCloseTo(426.93 - 428.67, 6);
    expect(d.high).toBeCloseTo(429.61 - 428.37, 6);
    expect(d.verdict).toBe('no verdict');
    // a median 0.93 MiB above the floor is no `met` while one boot was 1.74 MiB under it
    expect(floorDelta([426.93, 429.39, 429.4], tiny, 1)!.verdict).toBe('no verdict');
  });

  test('met when the worst pairing is within the bound (the bound itself included); NOT met when even the best is not', () => {
    expect(floorDelta([428.0, 428.1], [428.9, 429.0], 1)!.verdict).toBe('met');
    expect(floorDelta([428.0], [429.0], 1)!.verdict).toBe('met');
    expect(floorDelta([426.0, 427.9], [429.0, 429.1], 1)!.verdict).toBe('NOT met');
    expect(floorDelta([426.0, 428.0], [429.0, 429.1], 1)!.verdict).toBe('no verdict');
  });

  test('no samples on a side: no delta', () => {
    expect(floorDelta([], tiny, 1)).toBeUndefined();
    expect(floorDelta(ours, [], 1)).toBeUndefined();
    expect(floorDeltaText(undefined, 1)).toBe('–');
  });

  test('the cell shows the median difference, the range and the word', () => {
    const d = floorDelta([427.0, 427.5, 429.5], [428.5], 1)!;
    expect(floorDeltaText(d, 1)).toBe('−1.00 MiB (−1.50…+1.00; ≥ −1 MiB: no verdict: the boots spread across the bound)');
    expect(floorDeltaText(d, undefined)).toBe('−1.00 MiB (−1.50…+1.00)');
  });

  test('median of an even count is the mean of the middle two; NaN and undefined are left out', () => {
    expect(median([3, 1, 2, 10])).toBe(2.5);
    expect(median([Number.NaN, undefined, 4])).toBe(4);
    expect(median([])).toBeUndefined();
  });
});

describe('memoryWithPcpMiB', () => {
  // The `bench` action's grep over /proc/meminfo and /proc/zoneinfo (6.1: one CPU, DMA and DMA32)
  const lines = 'MemAvailable:     437304 kB\n              count: 0\n              count: 717\n';

  test('adds every per-CPU list, 4 KiB a page, to MemAvailable', () => {
    expect(memoryWithPcpMiB(lines)).toBeCloseTo((437304 + 717 * 4) / 1024, 9);
  });

  test('nothing without MemAvailable or without any list (an older guest, a cut console)', () => {
    expect(memoryWithPcpMiB('MemAvailable:     437304 kB\n')).toBeUndefined();
    expect(memoryWithPcpMiB('              count: 717\n')).toBeUndefined();
    // zoneinfo's other words ending in count are not lists
    expect(memoryWithPcpMiB('MemAvailable: 4 kB\n   nr_free_pages_count: 5\n')).toBeUndefined();
  });
});
