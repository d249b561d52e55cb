// SPDX-License-Identifier: GPL-2.0-or-later
// The dm-verity hash tree of core/verity-tree.ts against the reference: `veritysetup format
// --no-superblock` (cryptsetup-bin) writes the same hash blocks and prints the same root hash, and
// `veritysetup verify` (userspace, no device-mapper needed) accepts ours and refuses a changed byte.
import { describe, expect, test } from 'bun:test';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeVerityTree, padVerityData, veritySalt, VERITY_BLOCK } from '../../src/core/verity-tree.ts';
import { describeNeeding, missing } from './need.ts';
import { tempDir } from '../temp-dirs.ts';

/** Distinct blocks, quickly: a 4 KiB pseudo-random pattern, each block stamped with its number. */
function pseudoRandom(size: number, seed: number): Uint8Array {
  const pattern = new Uint8Array(VERITY_BLOCK);
  let x = seed;
  for (let i = 0; i < VERITY_BLOCK; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    pattern[i] = x >>> 24;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  for (let at = 0; at < size; at += VERITY_BLOCK) {
    out.set(pattern.subarray(0, Math.min(VERITY_BLOCK, size - at)), at);
    if (at + 4 <= size) view.setUint32(at, at / VERITY_BLOCK);
  }
  return out;
}

function veritysetup(args: string[]): { code: number | null; out: string } {
  const r = Bun.spawnSync(['veritysetup', ...args], { stdout: 'pipe', stderr: 'pipe' });
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
}

describe('makeVerityTree', () => {
  test('data that is not whole blocks is refused; padVerityData makes it whole', () => {
    expect(() => makeVerityTree(new Uint8Array(100), new Uint8Array(32))).toThrow(/whole 4096-byte blocks/);
    expect(padVerityData(new Uint8Array(100)).length).toBe(VERITY_BLOCK);
    expect(padVerityData(new Uint8Array(8192)).length).toBe(8192);
  });
  test('the salt follows the content', () => {
    expect(Buffer.from(veritySalt(new Uint8Array(1))).equals(Buffer.from(veritySalt(new Uint8Array(2))))).toBe(false);
    expect(veritySalt(new Uint8Array(1))).toHaveLength(32);
  });
});

// Block counts around the level boundaries: 1 (no level), 2, 128 (one hash block), 129 (two
// levels: the top one first).
const SIZES = [1, 2, 3, 128, 129, 700];

describeNeeding(missing('veritysetup'), 'the same tree as veritysetup format --no-superblock', () => {
  test.each(SIZES)('%i data blocks', (blocks) => {
    const dir = tempDir('verity');
    try {
      const data = pseudoRandom(blocks * VERITY_BLOCK, blocks);
      const salt = veritySalt(data);
      const ours = makeVerityTree(data, salt);
      expect(ours.dataBlocks).toBe(blocks);
      writeFileSync(join(dir, 'data'), data);
      const saltHex = Buffer.from(salt).toString('hex');
      const f = veritysetup(['format', '--no-superblock', '--hash', 'sha256', '--salt', saltHex, join(dir, 'data'), join(dir, 'hash')]);
      expect(f.code).toBe(0);
      expect(/Root hash:\s+([0-9a-f]{64})/.exec(f.out)?.[1]).toBe(ours.rootHash);
      const theirs = readFileSync(join(dir, 'hash'));
      expect(Buffer.from(ours.tree).equals(theirs.subarray(0, ours.tree.length))).toBe(true);
      expect(theirs.subarray(ours.tree.length).every((b) => b === 0)).toBe(true);
      // Ours, in one file after the data, as the /boot second stage carries it.
      writeFileSync(join(dir, 'both'), Buffer.concat([data, ours.tree]));
      const opts = ['--no-superblock', '--hash', 'sha256', '--salt', saltHex, '--data-blocks', String(blocks), '--hash-offset', String(data.length)];
      if (blocks > 1) expect(veritysetup(['verify', ...opts, join(dir, 'both'), join(dir, 'both'), ours.rootHash]).code).toBe(0);
      data[data.length - 1]! ^= 1;
      writeFileSync(join(dir, 'data'), data);
      expect(veritysetup(['verify', '--no-superblock', '--hash', 'sha256', '--salt', saltHex, join(dir, 'data'), join(dir, 'hash'), ours.rootHash]).code).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
