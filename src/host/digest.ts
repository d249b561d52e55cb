// SPDX-License-Identifier: GPL-2.0-or-later
// sha256 of the build's immutable buffers, each hashed once: a cold kernel module's bytes are hashed
// for the decoded-module cache's key (src/host/kmod-cache.ts) and again for the build report's file
// list (src/host/report.ts), ~19 MiB twice in a generic image. Only for buffers nobody changes after
// hashing (files read from the base, cache entries); a reused buffer must be hashed directly. A
// buffer holding a whole file of the base (noteOrigin, by mapHostRegular) takes the digest the
// digest cache remembers for that very file (src/host/digest-cache.ts), and leaves it there.
import type { BigIntStats } from 'node:fs';
import { DigestStore, digestStoreFile, fileIdentity } from './digest-cache.ts';

const known = new WeakMap<Uint8Array, string>();
/** a buffer's file identity, for the buffers that hold a whole file as it was when opened */
const origins = new WeakMap<Uint8Array, string>();
let store: DigestStore | undefined;

export function sha256Hex(bytes: Uint8Array): string {
  let hex = known.get(bytes);
  if (hex !== undefined) return hex;
  const origin = origins.get(bytes);
  hex = origin === undefined ? undefined : digestStore().get(origin);
  if (hex === undefined) {
    hex = new Bun.CryptoHasher('sha256').update(bytes).digest('hex');
    if (origin !== undefined) digestStore().set(origin, hex);
  }
  known.set(bytes, hex);
  return hex;
}

/** `bytes` are the whole of the file `st` describes at `path`, as it was when opened (`nowMs`: tests). */
export function noteOrigin(bytes: Uint8Array, path: string, st: BigIntStats, nowMs?: bigint): void {
  const id = fileIdentity(path, st, nowMs);
  if (id !== undefined && BigInt(bytes.length) === st.size) origins.set(bytes, id);
}

/** The store in use from now on (tests: one in a temp directory); saved when the process ends. */
export function useDigestStore(s: DigestStore): void {
  store = s;
}

function digestStore(): DigestStore {
  if (!store) {
    store = new DigestStore(digestStoreFile());
    // written once, when the process ends (a build's or an update's every image)
    process.once('exit', () => store?.save());
  }
  return store;
}
