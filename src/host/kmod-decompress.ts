// SPDX-License-Identifier: GPL-2.0-or-later
// Kernel module files decompressed: .ko.xz through xz(1), many modules per process, cut back into
// files by the sizes their xz indexes record; .ko.zst and .ko.gz in process.

import { availableParallelism } from 'node:os';
import { UserError } from '../log.ts';

/**
 * Sum of the uncompressed sizes recorded in an .xz file's stream indexes (walking concatenated streams
 * from the end), or undefined if the file is not laid out as the xz format says. It lets one `xz -dc`
 * process decompress many modules and have its output cut back into files.
 */
export function xzUncompressedSize(xz: Uint8Array): number | undefined {
  const u32 = (at: number): number => new DataView(xz.buffer, xz.byteOffset + at, 4).getUint32(0, true);
  let end = xz.length;
  let total = 0;
  while (end > 0) {
    while (end >= 4 && u32(end - 4) === 0) end -= 4; // stream padding
    if (end < 24 || xz[end - 2] !== 0x59 || xz[end - 1] !== 0x5a) return undefined;
    const indexStart = end - 12 - (u32(end - 8) + 1) * 4;
    if (indexStart < 12 || xz[indexStart] !== 0) return undefined;
    const records = readVarints(xz, indexStart + 1, end - 12);
    const count = records[0];
    if (count === undefined || records.length < 1 + 2 * count) return undefined;
    let blocks = 0;
    for (let i = 0; i < count; i++) {
      blocks += Math.ceil((records[1 + 2 * i] as number) / 4) * 4;
      total += records[2 + 2 * i] as number;
    }
    end = indexStart - blocks - 12;
    if (end < 0 || xz[end] !== 0xfd || xz[end + 1] !== 0x37) return undefined;
  }
  return total;
}

function readVarints(buf: Uint8Array, from: number, to: number): number[] {
  const out: number[] = [];
  let value = 0;
  let scale = 1;
  for (let i = from; i < to; i++) {
    const b = buf[i] as number;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if (b & 0x80) continue;
    out.push(value);
    value = 0;
    scale = 1;
  }
  return out;
}

/** xz -dc over concatenated streams on stdin: the bytes were read through the base resolver, never by path. */
async function runXz(inputs: Uint8Array[], label: string): Promise<Uint8Array> {
  let proc;
  try {
    proc = Bun.spawn(['xz', '-dc'], { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' });
  } catch {
    throw new UserError('xz (Debian package xz-utils) is needed to decompress .ko.xz kernel modules but is not installed');
  }
  const feed = (async () => {
    for (const input of inputs) proc.stdin.write(input);
    await proc.stdin.end();
  })();
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).bytes(),
    new Response(proc.stderr).text(),
    proc.exited,
    feed,
  ]);
  if (code !== 0) throw new UserError(`xz -dc failed on ${label}: ${err.trim()}`);
  return out;
}

/**
 * Neither Bun nor node:zlib decodes xz, so we spawn xz(1): one process per CPU over a share of the
 * files rather than one per module, since spawning hundreds of processes costs more than decoding.
 */
export async function decompressXz(files: { path: string; data: Uint8Array }[]): Promise<Uint8Array[]> {
  const sizes = files.map((f) => xzUncompressedSize(f.data));
  const chunks = Array.from({ length: Math.min(availableParallelism(), files.length) }, () => [] as number[]);
  files.forEach((_, i) => chunks[i % chunks.length]?.push(i));
  const out = new Array<Uint8Array>(files.length);
  await Promise.all(
    chunks.map(async (chunk) => {
      const known = chunk.filter((i) => sizes[i] !== undefined);
      const label = `${files[known[0] ?? 0]?.path}…`;
      const data = known.length ? await runXz(known.map((i) => files[i]!.data), label) : new Uint8Array();
      let at = 0;
      for (const i of known) out[i] = data.subarray(at, (at += sizes[i] as number));
      if (at !== data.length) throw new UserError(`xz output does not match the sizes in ${label}`);
      // an index we could not read: decompress that file on its own
      for (const i of chunk.filter((j) => sizes[j] === undefined)) out[i] = await runXz([files[i]!.data], files[i]!.path);
    }),
  );
  return out;
}

export function decompressOne(path: string, data: Uint8Array): Uint8Array {
  if (path.endsWith('.zst')) return Bun.zstdDecompressSync(data);
  if (path.endsWith('.gz')) return Bun.gunzipSync(data as Uint8Array<ArrayBuffer>);
  return data;
}
