// SPDX-License-Identifier: GPL-2.0-or-later
// A dm-verity hash tree (format 1, sha256, 4096-byte blocks, no superblock), as `veritysetup
// format --no-superblock` writes it, computed here so that a build needs no cryptsetup. The /boot
// second stage carries its tree after its data; the first stage records the root hash, and the
// kernel's dm-verity checks each block against it when the block is read.

export const VERITY_BLOCK = 4096;
const DIGEST = 32;
const PER_BLOCK = VERITY_BLOCK / DIGEST;

export interface VerityTree {
  /** hash blocks, the top level first (the order dm-verity reads them from hash_start_block) */
  tree: Uint8Array;
  /** hex sha256 of the salt and the top hash block: the trust anchor */
  rootHash: string;
  dataBlocks: number;
}

const digest = (salt: Uint8Array, block: Uint8Array): Buffer => new Bun.CryptoHasher('sha256').update(salt).update(block).digest();

/** Hashes of each block of `bytes`, packed into zero-padded hash blocks: one level of the tree. */
function hashLevel(bytes: Uint8Array, salt: Uint8Array): Uint8Array {
  const blocks = bytes.length / VERITY_BLOCK;
  const level = new Uint8Array(Math.ceil(blocks / PER_BLOCK) * VERITY_BLOCK);
  for (let i = 0; i < blocks; i++) level.set(digest(salt, bytes.subarray(i * VERITY_BLOCK, (i + 1) * VERITY_BLOCK)), i * DIGEST);
  return level;
}

/** `data` must be whole blocks (padVerityData). */
export function makeVerityTree(data: Uint8Array, salt: Uint8Array): VerityTree {
  if (data.length === 0 || data.length % VERITY_BLOCK !== 0) throw new Error(`verity data of ${data.length} bytes is not whole ${VERITY_BLOCK}-byte blocks`);
  const dataBlocks = data.length / VERITY_BLOCK;
  // One data block: the kernel's tree has no level, the root hash is that block's own.
  if (dataBlocks === 1) return { tree: new Uint8Array(), rootHash: digest(salt, data).toString('hex'), dataBlocks };
  const levels: Uint8Array[] = [];
  for (let below = data; levels.length === 0 || below.length > VERITY_BLOCK; below = levels.at(-1)!) levels.push(hashLevel(below, salt));
  const top = levels.at(-1)!;
  const tree = new Uint8Array(levels.reduce((n, l) => n + l.length, 0));
  let at = 0;
  for (const level of levels.reverse()) {
    tree.set(level, at);
    at += level.length;
  }
  return { tree, rootHash: digest(salt, top).toString('hex'), dataBlocks };
}

/** `data` with zeros up to a whole block (erofs and squashfs ignore bytes after their end). */
export function padVerityData(data: Uint8Array): Uint8Array {
  const size = Math.ceil(data.length / VERITY_BLOCK) * VERITY_BLOCK;
  if (size === data.length) return data;
  const padded = new Uint8Array(size);
  padded.set(data);
  return padded;
}

/** A salt derived from the content: reproducible builds, yet no two images share one. */
export function veritySalt(data: Uint8Array): Uint8Array {
  return new Uint8Array(new Bun.CryptoHasher('sha256').update('mkruckus stage2 verity salt\n').update(data).digest());
}
