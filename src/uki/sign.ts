// SPDX-License-Identifier: GPL-2.0-or-later
// Authenticode signing of a PE image, our own: the PKCS#7 SignedData that sbsign writes, without
// its signing time, so that the same image, key and certificate always give the same bytes (RSA
// PKCS#1 v1.5 is deterministic). The signature goes into a certificate table appended to the file.
// Pure apart from node:crypto; the keys come in as PEM/DER bytes and go nowhere else.
import type Crypto from 'node:crypto';
import type { KeyObject, X509Certificate } from 'node:crypto';
import { authenticodeDigest, tlv } from './authenticode.ts';
import { alignUp, parsePe, peChecksum, PeFormatError } from './pe.ts';
/** node:crypto is loaded where a UKI is signed or checked, not at every start. */
const crypto = () => require('node:crypto') as typeof Crypto;

// ---- DER encoding --------------------------------------------------------------------------------

function length(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

function der(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(parts);
  return Buffer.concat([Uint8Array.of(tag), length(body.length), body]);
}

const seq = (...p: Uint8Array[]) => der(0x30, ...p);
const set = (...p: Uint8Array[]) => der(0x31, ...p);
const octets = (b: Uint8Array) => der(0x04, b);
const explicit0 = (...p: Uint8Array[]) => der(0xa0, ...p);
const NULL = Uint8Array.of(0x05, 0x00);

function oid(dotted: string): Uint8Array {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [a! * 40 + b!];
  for (const n of rest) {
    const groups: number[] = [];
    for (let v = n; ; v = Math.floor(v / 128)) {
      groups.unshift((v & 0x7f) | (groups.length ? 0x80 : 0));
      if (v < 128) break;
    }
    out.push(...groups);
  }
  return der(0x06, Uint8Array.from(out));
}

const OID = {
  signedData: '1.2.840.113549.1.7.2',
  sha256: '2.16.840.1.101.3.4.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  spcIndirectData: '1.3.6.1.4.1.311.2.1.4',
  spcPeImageData: '1.3.6.1.4.1.311.2.1.15',
  spcSpOpusInfo: '1.3.6.1.4.1.311.2.1.12',
};

// ---- the certificate's issuer and serial, as the SignerInfo names it ------------------------------

/** IssuerAndSerialNumber of a certificate: its tbsCertificate's issuer Name and serial, as encoded. */
export function issuerAndSerial(certDer: Uint8Array): Uint8Array {
  const tbs = tlv(certDer, tlv(certDer, 0).start);
  let at = tbs.start;
  if (certDer[at] === 0xa0) at = tlv(certDer, at).end; // [0] version
  const serial = tlv(certDer, at);
  const sigAlg = tlv(certDer, serial.end);
  const issuer = tlv(certDer, sigAlg.end);
  return seq(certDer.subarray(issuer.at, issuer.end), certDer.subarray(serial.at, serial.end));
}

// ---- signing -------------------------------------------------------------------------------------

/** The SignedData blob for an image whose Authenticode sha256 digest is `digest`. */
export function signedData(digest: Uint8Array, key: KeyObject, cert: X509Certificate): Uint8Array {
  if (key.asymmetricKeyType !== 'rsa') throw new PeFormatError(`only RSA keys can sign (this one is ${key.asymmetricKeyType})`);
  if (!cert.checkPrivateKey(key)) throw new PeFormatError('the key does not belong to the certificate');
  const sha256 = seq(oid(OID.sha256), NULL);
  // SpcPeImageData: no flags, an empty file link (what signtool and sbsign write).
  const peImageData = seq(der(0x03, Uint8Array.of(0)), explicit0(der(0xa2, der(0x80, new Uint8Array()))));
  const indirect = seq(seq(oid(OID.spcPeImageData), peImageData), seq(sha256, octets(digest)));
  // The message digest covers the content's value, not its SEQUENCE header (PKCS#7 §9.3).
  const contentValue = indirect.subarray(tlv(indirect, 0).start);
  const attrs = [
    seq(oid(OID.contentType), set(oid(OID.spcIndirectData))),
    seq(oid(OID.spcSpOpusInfo), set(seq())),
    seq(oid(OID.messageDigest), set(octets(crypto().createHash('sha256').update(contentValue).digest()))),
  ].sort(Buffer.compare); // DER: a SET OF is sorted by encoding
  const signature = crypto().sign('sha256', set(...attrs), key);
  const signerInfo = seq(
    der(0x02, Uint8Array.of(1)),
    issuerAndSerial(cert.raw),
    sha256,
    der(0xa0, ...attrs),
    seq(oid(OID.rsaEncryption), NULL),
    octets(signature),
  );
  const body = seq(
    der(0x02, Uint8Array.of(1)),
    set(sha256),
    seq(oid(OID.spcIndirectData), explicit0(indirect)),
    der(0xa0, cert.raw),
    set(signerInfo),
  );
  return seq(oid(OID.signedData), explicit0(body));
}

/** `image` (unsigned) with one Authenticode signature in a certificate table at its end. */
export function signPe(image: Uint8Array, key: KeyObject, cert: X509Certificate): Uint8Array {
  const pe = parsePe(image);
  if (pe.certTable) throw new PeFormatError('the image is signed already');
  if (pe.numberOfDirs <= 4) throw new PeFormatError('the image has no certificate directory');
  // The table starts 8-byte aligned; the padding before it is part of the signed image.
  const base = Buffer.concat([image, new Uint8Array(alignUp(image.length, 8) - image.length)]);
  const p7 = signedData(authenticodeDigest(base, pe, 'sha256'), key, cert);
  const entryLength = 8 + p7.length;
  const entry = Buffer.alloc(alignUp(entryLength, 8));
  entry.writeUInt32LE(entryLength, 0);
  entry.writeUInt16LE(0x0200, 4); // WIN_CERT_REVISION_2_0
  entry.writeUInt16LE(0x0002, 6); // WIN_CERT_TYPE_PKCS_SIGNED_DATA
  entry.set(p7, 8);
  const out = Buffer.concat([base, entry]);
  out.writeUInt32LE(base.length, pe.dirOffset + 4 * 8);
  out.writeUInt32LE(entry.length, pe.dirOffset + 4 * 8 + 4);
  out.writeUInt32LE(peChecksum(out, pe.optOffset + 64), pe.optOffset + 64);
  return out;
}
