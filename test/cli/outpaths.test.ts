// SPDX-License-Identifier: GPL-2.0-or-later
// Where OUT can be: `-` (standard output), a symlink (its target is replaced atomically, the link
// stays), a FIFO or character device (written in place), an existing image (its mode and owner are
// kept), and a name so long that `.NAME.mkruckus-PID.tmp` would not fit in NAME_MAX.
import { describe, expect, test } from 'bun:test';
import { chmodSync, chownSync, lstatSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testNeeding } from '../unit/need.ts';
import { BIN, freshDir, KARG, KVER, leftovers, run, sh, useScratch } from './helpers.ts';

useScratch();

const ARGS = ['--kernel', KARG, '--modules', 'base', '--no-ucode'];
const EPOCH = { SOURCE_DATE_EPOCH: '1700000000' };
const needs = KVER ? [] : ['an installed kernel'];

/** The reference image: the same inputs written to a plain file. */
function reference(): Buffer {
  const cwd = freshDir('ref');
  const r = run([...ARGS, 'ref.img'], { cwd, env: EPOCH });
  if (r.code !== 0) throw new Error(r.stderr);
  return readFileSync(join(cwd, 'ref.img'));
}

describe('output paths', () => {
  testNeeding(needs, '`-` writes the image to standard output, byte for byte the file build', () => {
    const want = reference();
    const p = Bun.spawnSync([BIN, ...ARGS, '-'], { cwd: freshDir('stdout'), env: { ...process.env, ...EPOCH }, stdout: 'pipe', stderr: 'pipe' });
    expect(p.stderr.toString()).toBe('');
    expect(p.exitCode).toBe(0);
    expect(Buffer.from(p.stdout).equals(want)).toBe(true);
  });

  testNeeding(needs, 'a reader that goes away early (`| head`): exit 141 as cat would, no stack trace, nothing left behind', () => {
    const cwd = freshDir('epipe');
    // The image is megabytes: far more than the pipe holds, so the writer always meets the closed end.
    const r = Bun.spawnSync(['bash', '-c', '"$@" | head -c 16 >/dev/null; echo "rc=${PIPESTATUS[0]}" >&2', 'sh', BIN, ...ARGS, '-'],
      { cwd, env: { ...process.env, ...EPOCH }, stdout: 'pipe', stderr: 'pipe' });
    // The build may say so first (its write failed); the stream's error always ends it as SIGPIPE would.
    expect(r.stderr.toString()).toMatch(/^(mkruckus: error: cannot write -: the reader went away\n)?rc=141\n$/);
    expect(leftovers(cwd)).toEqual([]);
  });

  testNeeding(needs, '/dev/stdout redirected to a file is written in place (the shell\'s file gets the image)', () => {
    const want = reference();
    const cwd = freshDir('devstdout');
    const r = Bun.spawnSync(['sh', '-c', '"$@" > got.img', 'sh', BIN, ...ARGS, '/dev/stdout'], { cwd, env: { ...process.env, ...EPOCH }, stderr: 'pipe' });
    expect(r.stderr.toString()).toBe('');
    expect(readFileSync(join(cwd, 'got.img')).equals(want)).toBe(true);
  });

  testNeeding(needs, 'a symlink OUT: the file it names is replaced atomically, the link stays a link', () => {
    const cwd = freshDir('symlink');
    writeFileSync(join(cwd, 'real.img'), 'old image');
    symlinkSync('real.img', join(cwd, 'out.img'));
    expect(run([...ARGS, 'out.img'], { cwd }).code).not.toBe(0); // exists: --force needed
    const r = run([...ARGS, '--force', 'out.img'], { cwd, env: EPOCH });
    expect(r.stderr).toBe('');
    expect(lstatSync(join(cwd, 'out.img')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(cwd, 'out.img'))).toBe('real.img');
    expect(readFileSync(join(cwd, 'real.img')).equals(reference())).toBe(true);
    expect(leftovers(cwd)).toEqual([]);
  });

  testNeeding(needs, 'a dangling symlink OUT needs --force, then its target is created', () => {
    const cwd = freshDir('dangling');
    symlinkSync('made.img', join(cwd, 'out.img'));
    const r = run([...ARGS, 'out.img'], { cwd });
    expect(r.stderr).toBe('mkruckus: error: out.img exists; use --force to overwrite it\n');
    expect(run([...ARGS, '--force', 'out.img'], { cwd }).code).toBe(0);
    expect(lstatSync(join(cwd, 'out.img')).isSymbolicLink()).toBe(true);
    expect(statSync(join(cwd, 'made.img')).size).toBeGreaterThan(0);
  });

  testNeeding([...needs, ...(Bun.which('mkfifo') ? [] : ['mkfifo'])], 'a FIFO OUT is written in place (no --force: nothing is replaced)', async () => {
    const cwd = freshDir('fifo');
    expect(sh(['mkfifo', join(cwd, 'pipe')]).ok).toBe(true);
    const reader = Bun.spawn(['sh', '-c', 'cat pipe > got.img'], { cwd });
    const w = Bun.spawn([BIN, ...ARGS, 'pipe'], { cwd, env: { ...process.env, ...EPOCH }, stderr: 'pipe' });
    const code = await w.exited;
    // A writer that failed without opening the FIFO would leave the reader blocked forever.
    if (code !== 0) reader.kill();
    expect(code).toBe(0);
    expect(await reader.exited).toBe(0);
    expect(lstatSync(join(cwd, 'pipe')).isFIFO()).toBe(true);
    expect(readFileSync(join(cwd, 'got.img')).equals(reference())).toBe(true);
  });

  testNeeding(needs, 'a character device OUT (/dev/null) is written, never replaced', () => {
    const r = run([...ARGS, '/dev/null']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(lstatSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  testNeeding([...needs, ...(process.getuid?.() === 0 ? [] : ['root (chown)'])], "--force keeps an existing image's mode and owner", () => {
    const cwd = freshDir('mode');
    const out = join(cwd, 'out.img');
    writeFileSync(out, 'old');
    chmodSync(out, 0o600);
    chownSync(out, 1234, 2345);
    expect(run([...ARGS, '--force', 'out.img'], { cwd }).code).toBe(0);
    const st = statSync(out);
    expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o600, 1234, 2345]);
    expect(st.size).toBeGreaterThan(1000);
  });

  testNeeding(needs, 'an OUT name of 250 bytes (NAME_MAX 255) is written; the temp name is cut to fit', () => {
    const cwd = freshDir('long');
    const name = `${'é'.repeat(100)}${'x'.repeat(46)}.img`;
    expect(Buffer.byteLength(name)).toBe(250);
    const r = run([...ARGS, name], { cwd });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(statSync(join(cwd, name)).size).toBeGreaterThan(1000);
    expect(leftovers(cwd)).toEqual([]);
  });
});
