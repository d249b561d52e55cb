// SPDX-License-Identifier: GPL-2.0-or-later
// `layer build`: a directory, a root filesystem tarball or a container image archive → layer
// files, on a build host. Every source is checked entirely (pass 1) before any byte is written;
// each layer file is written under a temporary name, fsynced and renamed.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type * as TarStream from 'tar-stream';
import { createReadStream, createWriteStream } from 'node:fs';
import { checkEntries, clampTime, type Entry, HostileEntry, type Limits, normalisePath, ociToOverlay } from '../layers/entries.ts';
import { planMerge } from '../layers/merge.ts';
import { imageLayers, isImageArchive } from '../layers/oci.ts';
import { UserError } from '../log.ts';
import { dirSource, readEntries, type TarSource, tarFileSource, tarToSquashfs, writePlan } from './layer-tar.ts';
import { forget, hookSignals, removeOnSignal } from './scratch.ts';

/** tar-stream, loaded where used: every command but `layer` starts without it. */
const tar = () => require('tar-stream') as typeof TarStream;

export interface BuildRequest {
  name: string;
  from: string;
  outDir: string;
  format: 'squashfs' | 'erofs';
  squash: boolean;
  force: boolean;
  limits: Limits;
  epoch: number | undefined;
}

/** One layer file to write: its name and its sources (top first) with their entries. */
interface LayerJob { name: string; sources: TarSource[]; entries: (Entry | null)[][]; bottom: boolean }

/** Reads (pass 1) and, unless `check` is false, checks a source; hostile input is a UserError. */
async function checkedEntries(src: TarSource, limits: Limits, oci: boolean, check = true): Promise<(Entry | null)[]> {
  try {
    let entries = await readEntries(src);
    if (oci) {
      const c = ociToOverlay(entries);
      entries = [...c.entries, ...c.extra];
    }
    if (check) checkEntries(entries, limits);
    return entries;
  } catch (err) {
    if (err instanceof HostileEntry) throw new UserError(`${src.label}: refused: ${err.message}`);
    throw err;
  }
}

function refuseHostile(label: string, entries: (Entry | null)[], limits: Limits): void {
  try {
    checkEntries(entries, limits);
  } catch (err) {
    if (err instanceof HostileEntry) throw new UserError(`${label}: refused: ${err.message}`);
    throw err;
  }
}

/** Writes every member of an image archive to a temp dir (blobs checked against their digest). */
async function unpackImageArchive(path: string, tmp: string): Promise<Set<string>> {
  const names = new Set<string>();
  const extract = tar().extract();
  createReadStream(path).pipe(extract as unknown as NodeJS.WritableStream);
  for await (const m of extract) {
    const name = normalisePath(m.header.name);
    if (m.header.type !== 'file' || name === '') {
      for await (const _ of m);
      continue;
    }
    const hash = new Bun.CryptoHasher('sha256');
    mkdirSync(dirname(join(tmp, name)), { recursive: true });
    const out = createWriteStream(join(tmp, name));
    for await (const chunk of m as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
    }
    await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
    const want = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(name)?.[1];
    if (want && hash.digest('hex') !== want) throw new UserError(`${path}: ${name} does not match its digest`);
    names.add(name);
  }
  return names;
}

async function imageJobs(req: BuildRequest, tmp: string, names: Set<string>): Promise<LayerJob[]> {
  let layers: string[];
  try {
    layers = imageLayers({ names, json: (n) => JSON.parse(readFileSync(join(tmp, n), 'utf8')) });
  } catch (err) {
    throw new UserError(`${req.from}: ${(err as Error).message}`);
  }
  const sources = await Promise.all(layers.map((l, i) => tarFileSource(join(tmp, l), `${req.from}: layer ${i + 1} (${l})`)));
  const entries: (Entry | null)[][] = [];
  for (const s of sources) entries.push(await checkedEntries(s, req.limits, true));
  if (req.squash) return [{ name: req.name, sources: sources.reverse(), entries: entries.reverse(), bottom: true }];
  return sources.map((s, i) => ({ name: `${req.name}-${i + 1}`, sources: [s], entries: [entries[i]!], bottom: i === 0 })).reverse();
}

/** Builds the layers; returns their names, top first. */
export async function buildLayers(req: BuildRequest): Promise<string[]> {
  if (!existsSync(req.from)) throw new UserError(`${req.from} does not exist`);
  // Registered before it exists: a SIGTERM would otherwise leave it in the output directory.
  hookSignals();
  const tmp = mkdtempSync(join(req.outDir, '.mkruckus-layer-'));
  removeOnSignal(tmp);
  try {
    let jobs: LayerJob[];
    if (statSync(req.from).isDirectory()) {
      const s = dirSource(req.from);
      jobs = [{ name: req.name, sources: [s], entries: [await checkedEntries(s, req.limits, false)], bottom: false }];
    } else {
      const plain = await tarFileSource(req.from);
      const entries = await checkedEntries(plain, req.limits, false, false);
      if (isImageArchive(new Set(entries.flatMap((e) => (e ? [e.path] : []))))) {
        jobs = await imageJobs(req, tmp, await unpackImageArchive(req.from, tmp));
      } else {
        refuseHostile(plain.label, entries, req.limits);
        jobs = [{ name: req.name, sources: [plain], entries: [entries], bottom: false }];
      }
    }
    for (const j of jobs) {
      const out = join(req.outDir, `${j.name}.sqsh`);
      if (existsSync(out) && !req.force) throw new UserError(`${out} exists; use --force to overwrite it`);
    }
    for (const j of jobs) await writeLayer(req, j, tmp);
    return jobs.map((j) => j.name);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    forget(tmp);
  }
}

async function writeLayer(req: BuildRequest, job: LayerJob, tmp: string): Promise<void> {
  const plan = planMerge(job.entries, { bottom: job.bottom });
  const stream = writePlan(plan, job.sources, (e) => clampTime(e, req.epoch));
  const part = join(tmp, `${job.name}.sqsh`);
  if (req.format === 'squashfs') await tarToSquashfs(stream, part);
  else await tarToErofs(stream, part, join(tmp, `${job.name}.tree`), req.epoch ?? 0);
  fsyncPath(part);
  renameSync(part, join(req.outDir, `${job.name}.sqsh`));
  fsyncPath(req.outDir);
}

export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function runTool(argv: string[], stdin?: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: [stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.on('error', (e) => reject(new UserError(`cannot run ${argv[0]}: ${e.message}`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new UserError(`${argv[0]} failed: ${err.trim().split('\n').at(-1)}`))));
    if (stdin) stdin.pipe(child.stdin!);
  });
}

/**
 * erofs-utils 1.5 (Debian 12) cannot read a tar: the planned tar is unpacked (as root: owners,
 * whiteout devices, trusted.* xattrs) into a private tree and made into erofs with a fixed time and UUID.
 */
export async function tarToErofs(stream: NodeJS.ReadableStream, out: string, tree: string, epoch: number): Promise<void> {
  mkdirSync(tree, { mode: 0o700 });
  await runTool(['tar', '-C', tree, '-x', '-p', '--same-owner', '--numeric-owner', '--xattrs', '--xattrs-include=*', '-f', '-'], stream);
  await runTool(['mkfs.erofs', '-T', String(epoch), '-U', '00000000-0000-0000-0000-000000000001', '-x', '1', out, tree]);
  rmSync(tree, { recursive: true, force: true });
}
