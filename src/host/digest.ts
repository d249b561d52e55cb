// SPDX-License-Identifier: GPL-2.0-or-later
// sha256 of the build's immutable buffers, each hashed once: a cold kernel module's bytes are hashed
// for the decoded-module cache's key (src/host/kmod-cache.ts) and again for the build report's file
// list (src/host/report.ts), ~19 MiB twice in a generic image. Only for buffers nobody changes after
// hashing (files read from the base, cache entries); a reused buffer must be hashed directly.
const known = new WeakMap<Uint8Array, string>();

export function sha256Hex(bytes: Uint8Array): string {
  let hex = known.get(bytes);
  if (hex === undefined) {
    hex = new Bun.CryptoHasher('sha256').update(bytes).digest('hex');
    known.set(bytes, hex);
  }
  return hex;
}
