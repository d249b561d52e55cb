// SPDX-License-Identifier: GPL-2.0-or-later
// Kernel-module resolution kept between builds, beside the module caches (src/host/kmod-cache.ts).
// Parsing a kernel's depmod indexes (modules.alias alone is ~26k lines) and resolving a generic
// image's requests over them cost a build ~0.15-0.25 s of CPU and ~5000 page faults, for an answer
// that changes only with the index files, the requests or the program. So the answer (the resolved
// modules over the index cut down to them: src/core/kmod-subset.ts) is stored under the sha256 of
// the index files' bytes, the hot and cold requests, and the running binary's identity: a compiled
// mkruckus is one file, and a build of other code is another file (device, inode, size, times). Run
// from sources (bun src/main.ts, the unit tests) there is no such identity and nothing is cached.
// An entry that is unreadable or not shaped as one is a miss; any cache failure only costs the time.
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { KmodIndex } from '../core/kmod.ts';
import { loadResolution, storeResolution, type Resolution } from '../core/kmod-subset.ts';
import { debug } from '../log.ts';
import { kmodCacheDir, writeEntry } from './kmod-cache.ts';
import { pruneSegments } from './segment-cache.ts';

/** Raise when what is stored, or how it is keyed, changes. */
const FORMAT = 1;
/** Every new binary starts new entries (~0.3 MB each): the least recently used go beyond this. */
const MAX_BYTES = 16 << 20;

/** The compiled binary's identity; undefined when running from sources (code may change under the same name). */
export function programIdentity(main = Bun.main, exe = process.execPath): string | undefined {
  if (!main.startsWith('/$bunfs/')) return undefined;
  try {
    const st = statSync(exe, { bigint: true });
    return `${exe}\0${st.dev}\0${st.ino}\0${st.size}\0${st.mtimeNs}\0${st.ctimeNs}`;
  } catch {
    return undefined;
  }
}

export interface ResolutionKeyParts {
  /** the index files as read (name → bytes; absent files as undefined) */
  files: [string, Uint8Array | undefined][];
  first: string[];
  then: string[];
  program: string;
}

export function resolutionKey(p: ResolutionKeyParts): string {
  const h = new Bun.CryptoHasher('sha256').update(`mkruckus kmod resolution ${FORMAT}\n${p.program}\n`);
  for (const [name, bytes] of p.files) {
    h.update(`${name} ${bytes === undefined ? 'absent' : bytes.length}\n`);
    if (bytes) h.update(bytes);
  }
  return h.update(`\n${JSON.stringify([p.first, p.then])}`).digest('hex');
}

/**
 * `compute()`'s answer (index cut to the resolved modules, and the resolution), from the cache when
 * the key is there. `program` undefined: computed, never stored.
 */
export function cachedResolution(
  parts: Omit<ResolutionKeyParts, 'program'>,
  compute: () => { index: KmodIndex; resolved: Resolution },
  program: string | undefined = programIdentity(),
  dir: string | null = kmodCacheDir() ?? null,
): { index: KmodIndex; resolved: Resolution; key?: string } {
  if (!dir || program === undefined) return compute();
  const key = resolutionKey({ ...parts, program });
  const stored = cachedJson(join(dir, '..', 'kmod-resolved'), key, loadResolution, compute, (a) => storeResolution(a.index, a.resolved));
  return { ...stored, key };
}

/**
 * The entry KEY of the cache directory AT, read back through `parse` (undefined: not one), or else
 * `compute()`'s answer, stored as `encode` gives it; the directory kept under MAX_BYTES.
 */
function cachedJson<T>(at: string, key: string, parse: (json: unknown) => T | undefined, compute: () => T, encode: (v: T) => unknown = (v) => v): T {
  try {
    const hit = parse(JSON.parse(readFileSync(join(at, key), 'utf8')));
    if (hit) return hit;
  } catch {
    // none yet, or unreadable: computed below
  }
  const answer = compute();
  try {
    mkdirSync(at, { recursive: true, mode: 0o700 });
    writeEntry(at, key, new TextEncoder().encode(JSON.stringify(encode(answer))));
    pruneSegments(at, Date.now(), MAX_BYTES);
  } catch (e) {
    debug(`module cache ${at} not written: ${(e as Error).message}`);
  }
  return answer;
}

/** The image's index files and driver table as rendered text (path under the modules dir → text). */
export interface Rendered {
  texts: [string, string][];
  /** alias patterns the driver table leaves to modprobe */
  skipped: string[];
}

const isRendered = (v: unknown): v is Rendered => {
  const r = v as Rendered;
  return Array.isArray(r?.texts) && r.texts.every((t) => Array.isArray(t) && t.length === 2 && typeof t[0] === 'string' && typeof t[1] === 'string')
    && Array.isArray(r.skipped) && r.skipped.every((x) => typeof x === 'string');
};

/**
 * `render()`'s text from the cache, beside the resolution it renders: keyed by that resolution's key
 * (index files, requests, program), the modules directory, and each module's size and stored path
 * (what the driver table and the index files say besides the index). No resolution key: rendered.
 */
export function cachedRendering(
  resolution: string | undefined, parts: { imageDir: string; sizes: number[]; paths: string[] }, render: () => Rendered,
  dir: string | null = kmodCacheDir() ?? null,
): Rendered {
  if (!dir || resolution === undefined) return render();
  const key = `${new Bun.CryptoHasher('sha256').update(`${resolution}\n${JSON.stringify(parts)}`).digest('hex')}-rendered`;
  return cachedJson(join(dir, '..', 'kmod-resolved'), key, (v) => (isRendered(v) ? v : undefined), render);
}
