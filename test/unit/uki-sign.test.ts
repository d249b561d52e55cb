// SPDX-License-Identifier: GPL-2.0-or-later
// Our Authenticode signer (src/uki/sign.ts) against sbsigntool: `sbverify` accepts what it signs and
// names the signer as openssl does; the same inputs give the same bytes; keys it cannot use are
// refused. (The firmware accepting it under Secure Boot is test/boot/uki.boot.test.ts.)
import { expect } from 'bun:test';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { readSignatures } from '../../src/uki/authenticode.ts';
import { parsePe, PeFormatError } from '../../src/uki/pe.ts';
import { signPe } from '../../src/uki/sign.ts';
import { makeUki } from '../../src/uki/uki.ts';
import { missing, testNeeding } from './need.ts';
import { tempDir } from '../temp-dirs.ts';

const STUB = '/usr/lib/systemd/boot/efi/linuxx64.efi.stub';
const KERNEL = spawnSync('sh', ['-c', 'ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1'], { encoding: 'utf8' }).stdout.trim() || '/boot/vmlinuz-(none)';
const dir = tempDir('uki-sign');

function sh(cmd: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  return { ok: r.status === 0, out: r.stdout + r.stderr };
}

function keyPair(name: string, newkey = ['rsa:2048']) {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  // A certificate with a long serial and a multi-part issuer: both are copied into the SignerInfo.
  const r = sh(['openssl', 'req', '-new', '-x509', '-newkey', ...newkey, '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/C=DE/O=mkruckus/CN=${name}/`]);
  if (!r.ok) throw new Error(r.out);
  return { key: createPrivateKey(readFileSync(key)), cert: new X509Certificate(readFileSync(cert)), certPath: cert };
}

testNeeding(missing(STUB, KERNEL, 'sbverify', 'openssl'), 'signed by us: sbverify accepts it, the signer is named as openssl names it, the bytes are reproducible', () => {
  const enc = new TextEncoder();
  const uki = makeUki(readFileSync(STUB), { linux: readFileSync(KERNEL), initrd: enc.encode('x'.repeat(5000)), osrel: enc.encode('ID=t\n'), uname: '1' });
  const { key, cert, certPath } = keyPair('signer test');
  const signed = signPe(uki, key, cert);
  expect(signPe(uki, key, cert)).toEqual(signed);
  writeFileSync(join(dir, 's.efi'), signed);
  expect(sh(['sbverify', '--cert', certPath, join(dir, 's.efi')]).out).toContain('Signature verification OK');
  expect(sh(['sbverify', '--list', join(dir, 's.efi')]).out).toContain(' - subject: /C=DE/O=mkruckus/CN=signer test');
  const [sig] = readSignatures(signed, parsePe(signed));
  expect(sig).toMatchObject({ valid: true, subject: 'C=DE, O=mkruckus, CN=signer test' });
  const serial = /serial=([0-9A-F]+)/.exec(sh(['openssl', 'x509', '-in', certPath, '-noout', '-serial']).out)![1]!;
  expect(sig!.serial.replace(/^0+/, '')).toBe(serial.replace(/^0+/, ''));
  // Another key's certificate does not verify it.
  const other = keyPair('other');
  expect(sh(['sbverify', '--cert', other.certPath, join(dir, 's.efi')]).ok).toBe(false);
  expect(() => signPe(signed, key, cert)).toThrow(/signed already/);
  expect(() => signPe(uki, other.key, cert)).toThrow(/does not belong to the certificate/);
}, 60_000); // two RSA keys made by openssl: seconds on a loaded machine

testNeeding(missing(STUB, 'openssl'), 'keys that cannot sign a UKI are refused', () => {
  const stub = readFileSync(STUB);
  const ec = keyPair('ec', ['ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1']);
  expect(() => signPe(stub, ec.key, ec.cert)).toThrow(PeFormatError);
  expect(() => signPe(stub, ec.key, ec.cert)).toThrow(/only RSA keys/);
  const { privateKey } = generateKeyPairSync('ed25519');
  expect(() => signPe(stub, privateKey, ec.cert)).toThrow(/only RSA keys/);
}, 60_000);
