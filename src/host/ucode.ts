// SPDX-License-Identifier: GPL-2.0-or-later
// Early microcode: an uncompressed cpio placed first in the image, where the kernel looks for
// kernel/x86/microcode/{GenuineIntel,AuthenticAMD}.bin before unpacking anything else.
import { writeNewc, type CpioEntry } from '../archive/cpio.ts';
import { UserError } from '../log.ts';
import { BaseFs, readHostRegular } from './base.ts';

const VENDORS = [
  { dir: 'intel-ucode', file: 'GenuineIntel.bin', match: (n: string) => /^[0-9a-f]{2}-[0-9a-f]{2}-[0-9a-f]{2}$/.test(n) },
  { dir: 'amd-ucode', file: 'AuthenticAMD.bin', match: (n: string) => n.endsWith('.bin') },
];

/** The vendor's blobs, read through the base resolver: a microcode symlink to a host file stays in the base. */
function readVendorBlob(fs: BaseFs, dir: string, match: (n: string) => boolean): Uint8Array | undefined {
  for (const root of ['/lib/firmware', '/usr/lib/firmware']) {
    const names = fs.readdir(`${root}/${dir}`).filter(match);
    const blobs = names.flatMap((n) => fs.readOptional(`${root}/${dir}/${n}`) ?? []);
    if (blobs.length) return Buffer.concat(blobs);
  }
  return undefined;
}

/** The early cpio: from `--ucode FILE` (a ready microcode cpio), or the base's microcode files. */
export function readEarlyMicrocode(base: string, ucode: string | false | undefined, mtime: number): Uint8Array {
  if (ucode === false) return new Uint8Array();
  if (ucode !== undefined) {
    let data: Uint8Array;
    try {
      data = readHostRegular(ucode);
    } catch (err) {
      const why = err instanceof Error && /regular file|symbolic link/.test(err.message) ? err.message : `cannot read ${ucode}`;
      throw new UserError(`--ucode: ${why}`);
    }
    if (Buffer.from(data.subarray(0, 6)).toString() !== '070701') {
      throw new UserError(`--ucode: ${ucode} is not an uncompressed newc cpio archive`);
    }
    return data;
  }
  const fs = new BaseFs(base);
  const entries: CpioEntry[] = [];
  for (const v of VENDORS) {
    const blob = readVendorBlob(fs, v.dir, v.match);
    if (blob) entries.push({ path: `/kernel/x86/microcode/${v.file}`, type: 'file', mode: 0o644, data: blob });
  }
  if (!entries.length) return new Uint8Array();
  const dirs = ['/kernel', '/kernel/x86', '/kernel/x86/microcode'].map(
    (path): CpioEntry => ({ path, type: 'dir', mode: 0o755 }),
  );
  return writeNewc([...dirs, ...entries], { mtime });
}
