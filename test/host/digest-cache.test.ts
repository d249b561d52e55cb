// SPDX-License-Identifier: GPL-2.0-or-later
// The digest cache (src/host/digest-cache.ts, through src/host/digest.ts): a file's remembered
// sha256 serves only that very file (path, inode, size, times); a rewritten file is hashed again;
// a file changed in the last seconds is never remembered; a corrupt store is empty.
import { expect, test } from 'bun:test';
import { fstatSync, openSync, closeSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DigestStore, fileIdentity } from '../../src/host/digest-cache.ts';
import { noteOrigin, sha256Hex, useDigestStore } from '../../src/host/digest.ts';
import { tempDir } from '../temp-dirs.ts';

const dir = tempDir('digests');
const direct = (b: Uint8Array) => new Bun.CryptoHasher('sha256').update(b).digest('hex');
const stat = (p: string) => statSync(p, { bigint: true });
const later = (p: string) => stat(p).ctimeNs / 1_000_000n + 10_000n;
const WRONG = 'f'.repeat(64);

test('identity: path, inode, size and both times; a file changed in the last seconds has none', () => {
  const p = join(dir, 'f');
  writeFileSync(p, 'one');
  expect(fileIdentity(p, stat(p))).toBeUndefined();
  const id = fileIdentity(p, stat(p), later(p))!;
  expect(id).toContain(p);
  expect(fileIdentity(join(dir, 'g'), stat(p), later(p))).not.toBe(id);
  writeFileSync(p, 'two');
  expect(fileIdentity(p, stat(p), later(p))).not.toBe(id);
});

test('a remembered digest serves the same file only; rewritten (same length) it is hashed again', () => {
  const file = join(dir, 'digests');
  useDigestStore(new DigestStore(file));
  const p = join(dir, 'module.ko.xz');
  writeFileSync(p, 'version 1');
  const read = () => {
    const bytes = new Uint8Array(readFileSync(p));
    noteOrigin(bytes, p, stat(p), later(p));
    return bytes;
  };
  const first = read();
  expect(sha256Hex(first)).toBe(direct(first));
  // the store now answers for this file: a planted wrong digest is served, so the store was read
  const s = new DigestStore(file);
  s.set(fileIdentity(p, stat(p), later(p))!, WRONG);
  useDigestStore(s);
  expect(sha256Hex(read())).toBe(WRONG);
  // the same length, other bytes: another identity, hashed again
  writeFileSync(p, 'version 2');
  const second = read();
  expect(sha256Hex(second)).toBe(direct(second));
  // a buffer that is not the whole file is never taken for it
  const part = new Uint8Array(readFileSync(p)).subarray(1);
  noteOrigin(part, p, stat(p), later(p));
  expect(sha256Hex(part)).toBe(direct(part));
});

test('saved and read back; a corrupt or foreign store is empty; nothing is written when nothing was added', () => {
  const file = join(dir, 'store');
  const a = new DigestStore(file);
  a.set('id-1', direct(new Uint8Array([1])));
  a.save();
  expect(new DigestStore(file).get('id-1')).toBe(direct(new Uint8Array([1])));
  writeFileSync(file, '{"id-1": "not a digest", "id-2": 5');
  expect(new DigestStore(file).get('id-1')).toBeUndefined();
  writeFileSync(file, JSON.stringify({ 'id-1': 'xyz', 'id-2': WRONG }));
  const b = new DigestStore(file);
  expect([b.get('id-1'), b.get('id-2')]).toEqual([undefined, WRONG]);
  b.save();
  expect(readFileSync(file, 'utf8')).toBe(JSON.stringify({ 'id-1': 'xyz', 'id-2': WRONG }));
  new DigestStore(undefined).save();
  const fd = openSync(file, 'r');
  expect(fstatSync(fd).size).toBeGreaterThan(0);
  closeSync(fd);
});
