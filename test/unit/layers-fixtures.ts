// SPDX-License-Identifier: GPL-2.0-or-later
// Test archives made in memory with tar-stream: root filesystem tarballs (hostile ones too) and a
// two-layer OCI image layout, and a reader of squashfs images through sqfs2tar (another tool).
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';

export type Member = Partial<tar.Header> & { name: string; body?: string | Uint8Array };

export async function makeTar(members: Member[]): Promise<Uint8Array> {
  const p = tar.pack();
  for (const { body, ...h } of members) {
    if (body !== undefined) p.entry({ mtime: new Date(1_700_000_000_000), ...h }, body);
    else p.entry({ mtime: new Date(1_700_000_000_000), ...h });
  }
  p.finalize();
  const chunks: Uint8Array[] = [];
  for await (const c of p as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
  return Buffer.concat(chunks);
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** An OCI image layout archive (as `skopeo copy … oci-archive:` writes) of these layers, bottom first. */
export async function makeOciArchive(layers: (Member[] | Uint8Array)[]): Promise<Uint8Array> {
  const blobs: [string, Uint8Array][] = [];
  const descs = [];
  for (const l of layers) {
    const gz = gzipSync(l instanceof Uint8Array ? l : await makeTar(l));
    blobs.push([sha(gz), gz]);
    descs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${sha(gz)}`, size: gz.length });
  }
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  blobs.push([sha(config), config]);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha(config)}`, size: config.length },
    layers: descs,
  }));
  blobs.push([sha(manifest), manifest]);
  const index = { schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha(manifest)}`, size: manifest.length }] };
  return makeTar([
    { name: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' },
    { name: 'index.json', body: JSON.stringify(index) },
    { name: 'blobs/', type: 'directory' },
    { name: 'blobs/sha256/', type: 'directory' },
    ...blobs.map(([h, b]) => ({ name: `blobs/sha256/${h}`, body: b })),
  ]);
}

export interface SeenEntry { type: string; mode: number; uid: number; gid: number; linkname: string | null; body: string; xattrs: Record<string, string>; dev: string }

/** A squashfs image's entries as sqfs2tar (squashfs-tools-ng) reads them back. */
export async function readSquashfs(image: string): Promise<Map<string, SeenEntry>> {
  const p = Bun.spawn(['sqfs2tar', image], { stdout: 'pipe', stderr: 'pipe' });
  const ex = tar.extract();
  const seen = new Map<string, SeenEntry>();
  const feed = (async () => {
    for await (const c of p.stdout) ex.write(c);
    (ex as unknown as { end: () => void }).end();
  })();
  for await (const m of ex) {
    let body = '';
    for await (const c of m as unknown as AsyncIterable<Uint8Array>) body += Buffer.from(c).toString('binary');
    const xattrs: Record<string, string> = {};
    for (const [k, v] of Object.entries((m.header.pax ?? {}) as Record<string, string>)) {
      if (k.startsWith('SCHILY.xattr.')) xattrs[k.slice(13)] = v;
    }
    const h = m.header;
    seen.set(h.name.replace(/\/$/, ''), {
      type: h.type, mode: h.mode & 0o7777, uid: h.uid, gid: h.gid, linkname: h.linkname, body, xattrs, dev: `${h.devmajor},${h.devminor}`,
    });
  }
  await feed;
  if ((await p.exited) !== 0) throw new Error(`sqfs2tar ${image} failed`);
  return seen;
}
