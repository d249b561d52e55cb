// SPDX-License-Identifier: GPL-2.0-or-later
// The sha256 of files of the base remembered between builds ($XDG_CACHE_HOME/mkruckus/digests),
// keyed by the file's identity: path, device, inode, size, and modification and change times to
// the nanosecond. A generic image hashes ~60 MiB of modules, binaries and libraries at every build
// (the report's sha256 of each file; the module caches' keys), ~0.1 s of CPU for files that did
// not change. Any write to a file changes its change time (which no one can set), a replaced file
// has another inode, a copy another path or device: a remembered digest is used only for the very
// same file. A file changed in the last RACY_MS is not remembered: a write in the same tick of the
// filesystem's clock could leave both times as they were (git's "racy" entries). An unreadable or
// foreign store is empty; a failure to write it only costs the hashing it would have saved.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BigIntStats } from 'node:fs';
import { debug } from '../log.ts';
import { cacheDir } from './cache-dir.ts';

const RACY_MS = 3000n;
/** Entries kept: this build's first, then earlier ones (a few kernels' and bases' worth). */
const MAX_ENTRIES = 30_000;
const HEX = /^[0-9a-f]{64}$/;

/** The identity of the file `st` describes at `path`; undefined when it changed too recently to be trusted. */
export function fileIdentity(path: string, st: BigIntStats, nowMs = BigInt(Date.now())): string | undefined {
  const latest = st.mtimeNs > st.ctimeNs ? st.mtimeNs : st.ctimeNs;
  if (latest / 1_000_000n > nowMs - RACY_MS) return undefined;
  return `${path}\0${st.dev}\0${st.ino}\0${st.size}\0${st.mtimeNs}\0${st.ctimeNs}`;
}

export class DigestStore {
  private old: Map<string, string> | undefined;
  private readonly used = new Map<string, string>();
  private added = false;

  constructor(readonly file: string | undefined) {}

  get(identity: string): string | undefined {
    const hex = this.used.get(identity) ?? this.loaded().get(identity);
    if (hex !== undefined) this.used.set(identity, hex);
    return hex;
  }

  set(identity: string, hex: string): void {
    this.used.set(identity, hex);
    this.added = true;
  }

  /** Written when this build added entries: atomically, its own entries first. */
  save(): void {
    if (!this.added || !this.file) return;
    const out: Record<string, string> = {};
    let n = 0;
    for (const [k, v] of [...this.used, ...this.loaded()]) {
      if (n >= MAX_ENTRIES) break;
      if (!(k in out)) (out[k] = v), n++;
    }
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      mkdirSync(join(this.file, '..'), { recursive: true, mode: 0o700 });
      writeFileSync(tmp, JSON.stringify(out), { mode: 0o600 });
      renameSync(tmp, this.file);
      this.added = false;
    } catch (e) {
      rmSync(tmp, { force: true });
      debug(`digest cache ${this.file} not written: ${(e as Error).message}`);
    }
  }

  private loaded(): Map<string, string> {
    if (this.old) return this.old;
    this.old = new Map();
    try {
      const json: unknown = JSON.parse(readFileSync(this.file ?? '', 'utf8'));
      for (const [k, v] of Object.entries(json as Record<string, unknown>)) if (typeof v === 'string' && HEX.test(v)) this.old.set(k, v);
    } catch {
      // none yet, unreadable or not ours: an empty store
    }
    return this.old;
  }
}

/** $XDG_CACHE_HOME/mkruckus/digests, beside the module caches; undefined without a cache home. */
export function digestStoreFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return cacheDir('digests', env);
}
