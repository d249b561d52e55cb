// SPDX-License-Identifier: GPL-2.0-or-later
// Layers as tar streams on the host: read a (compressed) tarball member by member with tar-stream,
// twice (headers first, to plan; then bodies, to write), and write a plan as one tar into
// tar2sqfs (squashfs-tools-ng). Nothing is unpacked into a tree for squashfs output.
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import type Stream from 'node:stream';
import type { Readable } from 'node:stream';
import type Zlib from 'node:zlib';
import type * as TarStream from 'tar-stream';
import { type Entry, fromHeader, HostileEntry } from '../layers/entries.ts';
import type { MergePlan } from '../layers/merge.ts';
import { UserError } from '../log.ts';
/** node:stream is loaded where a tar is read, not at every start. */
const stream = () => require('node:stream') as typeof Stream;

/** tar-stream, loaded where used: every command but `layer` starts without it. */
const tar = () => require('tar-stream') as typeof TarStream;
/** loaded where a tar is read, not at every start */
const zlib = () => require('node:zlib') as typeof Zlib;

/** A source of one layer's tar bytes, openable any number of times. */
export type TarSource = { label: string; open: () => Readable };

/** A tar file, decompressed by its magic (gzip, zstd) or read as is. */
export async function tarFileSource(path: string, label = path): Promise<TarSource> {
  const head = new Uint8Array(await Bun.file(path).slice(0, 4).arrayBuffer());
  const gz = head[0] === 0x1f && head[1] === 0x8b;
  const zst = head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd;
  return {
    label,
    open: () => {
      const raw = createReadStream(path);
      return gz ? raw.pipe(zlib().createGunzip()) : zst ? raw.pipe(zlib().createZstdDecompress()) : raw;
    },
  };
}

export interface DirOptions {
  /** GNU tar --exclude patterns, relative to the directory (`./upper`) */
  exclude?: string[];
  /** stay on the directory's filesystem (mount points stay as empty directories) */
  oneFileSystem?: boolean;
  /** a live root: files changing while read (GNU tar's exit status 1) are accepted */
  live?: boolean;
}

/**
 * A tool's stdout as a stream that ends only once the tool exited with an accepted status, so a
 * failing tool is an error of the reader, never a silently short archive.
 */
export function toolStream(argv: string[], okCodes: number[] = [0]): Readable {
  const out = new (stream().PassThrough)();
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  child.stdout.pipe(out, { end: false });
  child.on('error', (e) => out.destroy(new UserError(`cannot run ${argv[0]}: ${e.message}`)));
  child.on('close', (code) => {
    if (okCodes.includes(code ?? -1)) out.end();
    else out.destroy(new UserError(`${argv[0]} failed: ${err.trim().split('\n').at(-1)}`));
  });
  return out;
}

/** A directory as GNU tar sees it: names sorted, numeric owners, xattrs (opaque markers) kept. */
export function dirSource(dir: string, opts: DirOptions = {}): TarSource {
  const argv = [
    'tar', '-C', dir, '--sort=name', '--numeric-owner', '--xattrs', '--xattrs-include=*', '--format=pax',
    // `*` in an exclude pattern stops at `/`: ./*.sqsh is the top's layer files, not every .sqsh
    ...(opts.oneFileSystem ? ['--one-file-system'] : []), '--no-wildcards-match-slash', ...(opts.exclude ?? []).map((e) => `--exclude=${e}`),
    '-cf', '-', '.',
  ];
  return { label: dir, open: () => toolStream(argv, opts.live ? [0, 1] : [0]) };
}

/** Calls `each` for every member in order with its index and body; the body must be consumed. */
async function forEachMember(
  src: TarSource,
  each: (index: number, header: TarStream.Header, body: Readable & AsyncIterable<Uint8Array>) => Promise<void>,
): Promise<void> {
  const extract = tar().extract();
  const input = src.open();
  input.on('error', (e) => extract.destroy(e));
  input.pipe(extract as unknown as NodeJS.WritableStream);
  let i = 0;
  try {
    for await (const member of extract) {
      await each(i++, member.header, member as unknown as Readable & AsyncIterable<Uint8Array>);
    }
  } catch (err) {
    if (err instanceof UserError || err instanceof HostileEntry) throw err;
    throw new UserError(`${src.label}: not a readable tar archive (${(err as Error).message})`);
  }
}

async function drain(body: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _ of body);
}

/** Pass 1: every member's header as an Entry (null for the root), aligned with member order. */
export async function readEntries(src: TarSource): Promise<(Entry | null)[]> {
  const out: (Entry | null)[] = [];
  await forEachMember(src, async (_i, header, body) => {
    out.push(fromHeader(header));
    await drain(body);
  });
  return out;
}

function toHeader(e: Entry): TarStream.Header {
  const pax: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.xattrs)) pax[`SCHILY.xattr.${k}`] = v;
  return {
    name: e.path + (e.type === 'directory' ? '/' : ''), type: e.type, mode: e.mode, uid: e.uid, gid: e.gid,
    uname: '', gname: '', mtime: new Date(e.mtime * 1000), size: e.type === 'file' ? e.size : 0,
    linkname: e.linkname, devmajor: e.devmajor, devminor: e.devminor,
    pax: Object.keys(pax).length ? pax : null,
  };
}

/**
 * Pass 2: the plan as one tar stream: directories first, then each layer's kept members in their
 * order, bodies streamed from the sources. `fix` adjusts each entry (clamped times).
 */
export function writePlan(plan: MergePlan, sources: TarSource[], fix: (e: Entry) => Entry): Readable {
  const pack = tar().pack();
  const put = (e: Entry, body?: AsyncIterable<Uint8Array>) =>
    new Promise<void>((resolve, reject) => {
      const sink = pack.entry(toHeader(fix(e)), (err) => (err ? reject(err) : resolve())) as unknown as NodeJS.WritableStream;
      if (!body) return void sink.end();
      (async () => {
        for await (const chunk of body) if (!sink.write(chunk)) await new Promise((r) => sink.once('drain', () => r(null)));
        sink.end();
      })().catch(reject);
    });
  (async () => {
    for (const d of plan.dirs) await put(d);
    for (const [k, src] of sources.entries()) {
      const emits = plan.emits[k]!;
      if (emits.size === 0) continue;
      await forEachMember(src, async (i, _h, body) => {
        const e = emits.get(i);
        if (!e) return drain(body);
        if (e.type === 'file') return put(e, body);
        await put(e);
        await drain(body);
      });
    }
    pack.finalize();
  })().catch((err) => pack.destroy(err));
  return pack as unknown as Readable;
}

/** Streams a tar into `tar2sqfs OUT` (zstd; times and owners as in the tar). */
export async function tarToSquashfs(tarStream: Readable, out: string): Promise<void> {
  const child = spawn('tar2sqfs', ['--quiet', '--no-skip', '--force', '--compressor', 'zstd', '--num-jobs', '1', '--defaults', 'mtime=0', out], {
    stdio: ['pipe', 'ignore', 'pipe'],
    env: { ...process.env, SOURCE_DATE_EPOCH: undefined },
  });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', (e) => reject(new UserError(`cannot run tar2sqfs (squashfs-tools-ng): ${e.message}`)));
    child.on('close', (code) => resolve(code ?? 1));
  });
  const fed = new Promise<void>((resolve, reject) => {
    tarStream.on('error', reject);
    child.stdin.on('error', () => resolve());
    tarStream.pipe(child.stdin).on('finish', resolve);
  });
  try {
    await fed;
  } catch (e) {
    child.kill('SIGKILL');
    await exited.catch(() => 1);
    throw e;
  }
  const code = await exited;
  if (code !== 0) throw new UserError(`tar2sqfs failed: ${err.trim().split('\n').at(-1)}`);
}
