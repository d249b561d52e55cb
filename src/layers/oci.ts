// SPDX-License-Identifier: GPL-2.0-or-later
// Which members of an OCI image layout (`skopeo copy … oci-archive:`) or a `docker save` archive
// are the image's layer tarballs, bottom first. Pure: member names and small JSON texts in.

export interface ImageArchive {
  /** every member name, normalised */
  names: ReadonlySet<string>;
  /** reads a small JSON member (index.json, manifest.json, a manifest blob) */
  json: (name: string) => unknown;
}

const LAYER_TYPES = /^application\/vnd\.(oci\.image\.layer\.v1\.tar|docker\.image\.rootfs\.diff\.tar)(\.gzip|\+gzip|\+zstd)?$/;
const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);

/** An OCI layout or a docker-save archive (as opposed to a root filesystem tarball). */
export function isImageArchive(names: ReadonlySet<string>): boolean {
  return names.has('oci-layout') || (names.has('manifest.json') && [...names].some((n) => n.startsWith('blobs/') || n.endsWith('/layer.tar')));
}

const blobPath = (digest: unknown): string => {
  if (typeof digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`bad digest ${String(digest)}`);
  return `blobs/sha256/${digest.slice(7)}`;
};

interface Descriptor { mediaType?: string; digest?: string; platform?: { os?: string; architecture?: string } }

/** Follows index.json (and nested indexes) to the single image's layers; a linux/amd64 entry wins. */
function ociLayers(a: ImageArchive): string[] {
  let desc: Descriptor | undefined;
  let index = a.json('index.json') as { manifests?: Descriptor[] };
  for (let depth = 0; depth < 4; depth++) {
    const ms = index.manifests ?? [];
    if (ms.length === 0) throw new Error('index.json lists no image');
    desc = ms.find((m) => m.platform?.os === 'linux' && m.platform?.architecture === 'amd64') ?? ms[0]!;
    if (!INDEX_TYPES.has(desc.mediaType ?? '')) break;
    index = a.json(blobPath(desc.digest)) as { manifests?: Descriptor[] };
  }
  const manifest = a.json(blobPath(desc!.digest)) as { layers?: Descriptor[] };
  return (manifest.layers ?? []).map((l) => {
    if (!LAYER_TYPES.test(l.mediaType ?? '')) throw new Error(`layer media type ${l.mediaType} is not a tar layer`);
    return blobPath(l.digest);
  });
}

function dockerLayers(a: ImageArchive): string[] {
  const m = a.json('manifest.json') as { Layers?: unknown }[];
  if (!Array.isArray(m) || m.length !== 1) throw new Error('manifest.json must describe exactly one image');
  const layers = m[0]!.Layers;
  if (!Array.isArray(layers) || !layers.every((l) => typeof l === 'string')) throw new Error('manifest.json has no Layers list');
  return layers as string[];
}

/** The image's layer members, bottom first; each must be present. Throws Error with the reason. */
export function imageLayers(a: ImageArchive): string[] {
  const layers = a.names.has('index.json') ? ociLayers(a) : dockerLayers(a);
  if (layers.length === 0) throw new Error('the image has no layers');
  for (const l of layers) if (!a.names.has(l)) throw new Error(`layer ${l} is not in the archive`);
  return layers;
}
