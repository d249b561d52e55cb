// SPDX-License-Identifier: GPL-2.0-or-later
// Authenticode signatures of a PE image, read for `inspect`: who signed (the signer's certificate,
// found in the PKCS#7 SignedData by issuer and serial) and whether the signature still holds: the
// image's Authenticode digest equals the signed one, the signed attributes carry the digest of the
// signed content, and the signer's key verifies them. Trust (a chain to a db key) is the firmware's.
import type Crypto from 'node:crypto';
import { type PeImage } from './pe.ts';
/** node:crypto is loaded where a UKI is signed or checked, not at every start. */
const crypto = () => require('node:crypto') as typeof Crypto;

export interface SignatureInfo {
  subject: string;
  issuer: string;
  serial: string;
  digest: string;
  /** the image digest, the content digest and the RSA/ECDSA signature all check out */
  valid: boolean;
  /** why not, when not */
  problem?: string;
}

interface Tlv {
  tag: number;
  /** offset of the tag byte */
  at: number;
  /** offset of the contents */
  start: number;
  end: number;
}

/** One DER element at `at` (low tag numbers only, which is all PKCS#7 uses). */
export function tlv(b: Uint8Array, at: number): Tlv {
  const tag = b[at]!;
  let len = b[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i]!;
    start += n;
  }
  if (start + len > b.length) throw new Error('truncated DER');
  return { tag, at, start, end: start + len };
}

function children(b: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; at = out.at(-1)!.end) out.push(tlv(b, at));
  return out;
}

const OID_HASH: Record<string, string> = {
  '608648016503040201': 'sha256',
  '608648016503040202': 'sha384',
  '608648016503040203': 'sha512',
  '2b0e03021a': 'sha1',
};
/** PKCS#9 messageDigest */
const OID_MESSAGE_DIGEST = '2a864886f70d010904';

const hex = (b: Uint8Array, t: Tlv) => Buffer.from(b.subarray(t.start, t.end)).toString('hex');

/**
 * The Authenticode digest: the file without the CheckSum field, the certificate directory entry and
 * the certificate table. Equal to the spec's section-by-section hash for images whose sections are
 * contiguous and sorted, as every image src/uki writes (sbsign warns about any other).
 */
export function authenticodeDigest(bytes: Uint8Array, pe: PeImage, algorithm: string): Buffer {
  const checksum = pe.optOffset + 64;
  const certDir = pe.dirOffset + 4 * 8;
  const end = pe.certTable?.offset ?? bytes.length;
  return crypto().createHash(algorithm)
    .update(bytes.subarray(0, checksum))
    .update(bytes.subarray(checksum + 4, certDir))
    .update(bytes.subarray(certDir + 8, end))
    .digest();
}

/** The PKCS#7 blobs of the certificate table (WIN_CERTIFICATE entries, 8-byte aligned). */
export function certificateBlobs(bytes: Uint8Array, pe: PeImage): Uint8Array[] {
  if (!pe.certTable) return [];
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const blobs: Uint8Array[] = [];
  for (let at = pe.certTable.offset; at + 8 <= pe.certTable.offset + pe.certTable.size; ) {
    const length = v.getUint32(at, true);
    if (length < 8) break;
    // WIN_CERT_TYPE_PKCS_SIGNED_DATA; other types (X.509 alone) carry no Authenticode signature.
    if (v.getUint16(at + 6, true) === 2) blobs.push(bytes.subarray(at + 8, at + length));
    at += Math.ceil(length / 8) * 8;
  }
  return blobs;
}

export function readSignatures(bytes: Uint8Array, pe: PeImage): SignatureInfo[] {
  return certificateBlobs(bytes, pe).map((blob) => {
    try {
      return readSignature(blob, bytes, pe);
    } catch (err) {
      return { subject: '?', issuer: '?', serial: '?', digest: '?', valid: false, problem: `unreadable signature (${(err as Error).message})` };
    }
  });
}

function readSignature(p7: Uint8Array, image: Uint8Array, pe: PeImage): SignatureInfo {
  const contentInfo = tlv(p7, 0);
  const signedData = children(p7, children(p7, children(p7, contentInfo)[1]!)[0]!);
  // version, digestAlgorithms, contentInfo, [0] certificates, [1] crls, signerInfos
  const content = signedData[2]!;
  const certs = signedData.filter((t) => t.tag === 0xa0).flatMap((t) => children(p7, t));
  const signerInfo = children(p7, signedData.at(-1)!)[0]!;
  const si = children(p7, signerInfo);
  const [issuerAndSerial, digestAlg, signedAttrs] = [si[1]!, si[2]!, si[3]!];
  const serial = hex(p7, children(p7, issuerAndSerial)[1]!).replace(/^00/, '').toUpperCase();
  const algorithm = OID_HASH[hex(p7, children(p7, digestAlg)[0]!)] ?? 'unknown';
  const signer = certs.map((c) => new (crypto().X509Certificate)(p7.subarray(c.at, c.end))).find((c) => c.serialNumber.toUpperCase().replace(/^0+/, '') === serial.replace(/^0+/, ''));
  const base = { subject: signer?.subject.replaceAll('\n', ', ') ?? '?', issuer: signer?.issuer.replaceAll('\n', ', ') ?? '?', serial, digest: algorithm };
  if (!signer) return { ...base, valid: false, problem: 'the signer certificate is not in the signature' };
  if (algorithm === 'unknown') return { ...base, valid: false, problem: 'unknown digest algorithm' };
  // SpcIndirectDataContent: { data, DigestInfo { algorithm, digest } }
  const indirect = children(p7, children(p7, content)[1]!)[0]!;
  const digestInfo = children(p7, indirect)[1]!;
  const signedDigest = p7.subarray(children(p7, digestInfo)[1]!.start, children(p7, digestInfo)[1]!.end);
  if (!authenticodeDigest(image, pe, algorithm).equals(signedDigest)) return { ...base, valid: false, problem: 'the image was changed after signing (digest mismatch)' };
  if (signedAttrs.tag !== 0xa0) return { ...base, valid: false, problem: 'no signed attributes' };
  const md = children(p7, signedAttrs).find((a) => hex(p7, children(p7, a)[0]!) === OID_MESSAGE_DIGEST);
  const mdValue = md && children(p7, children(p7, md)[1]!)[0]!;
  const contentDigest = crypto().createHash(algorithm).update(p7.subarray(indirect.start, indirect.end)).digest();
  if (!mdValue || !contentDigest.equals(p7.subarray(mdValue.start, mdValue.end))) return { ...base, valid: false, problem: 'the signed attributes do not match the signed content' };
  // The signature covers the attributes DER-encoded as a SET, not with their [0] tag.
  const attrs = Buffer.from(p7.subarray(signedAttrs.at, signedAttrs.end));
  attrs[0] = 0x31;
  const sig = si.find((t, i) => i > 3 && t.tag === 0x04)!;
  const ok = crypto().verify(algorithm, attrs, signer.publicKey, p7.subarray(sig.start, sig.end));
  return ok ? { ...base, valid: true } : { ...base, valid: false, problem: 'the signature does not verify with the signer certificate' };
}
