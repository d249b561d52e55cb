// SPDX-License-Identifier: GPL-2.0-or-later
// Synthetic kernel modules for tests: an ELF relocatable with a .modinfo section, no toolchain needed.

/** A minimal ELF relocatable: a null section, the given sections, then .shstrtab. */
export function makeElf(sections: { name: string; data: Uint8Array }[], is64: boolean, le: boolean): Uint8Array<ArrayBuffer> {
  const all = [...sections, { name: '.shstrtab', data: new Uint8Array() }];
  const names: number[] = [];
  let strtab = '\0';
  for (const s of all) (names.push(strtab.length), (strtab += s.name + '\0'));
  all[all.length - 1]!.data = new TextEncoder().encode(strtab);
  const ehsize = is64 ? 64 : 52;
  const shentsize = is64 ? 64 : 40;
  let at = ehsize;
  const offsets = all.map((s) => ((at += s.data.length), at - s.data.length));
  const shoff = at;
  const buf = new Uint8Array(shoff + shentsize * (all.length + 1));
  const v = new DataView(buf.buffer);
  buf.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1]);
  const put = (off: number, val: number, size: 2 | 4 | 8): void =>
    size === 2 ? v.setUint16(off, val, le) : size === 4 ? v.setUint32(off, val, le) : v.setBigUint64(off, BigInt(val), le);
  if (is64) (put(0x28, shoff, 8), put(0x3a, shentsize, 2), put(0x3c, all.length + 1, 2), put(0x3e, all.length, 2));
  else (put(0x20, shoff, 4), put(0x2e, shentsize, 2), put(0x30, all.length + 1, 2), put(0x32, all.length, 2));
  all.forEach((s, i) => {
    buf.set(s.data, offsets[i]!);
    const h = shoff + shentsize * (i + 1);
    put(h, names[i]!, 4);
    if (is64) (put(h + 24, offsets[i]!, 8), put(h + 32, s.data.length, 8));
    else (put(h + 16, offsets[i]!, 4), put(h + 20, s.data.length, 4));
  });
  return buf;
}

export const MODINFO = 'license=GPL\0firmware=foo/bar.bin\0firmware=glob/*.fw\0firmware=abs.bin\0firmware=zonly.bin\0' +
  'firmware=missing.bin\0softdep=pre: crc32c\0depends=jbd2,mbcache\0alias=fs-fake\0name=fake\0';
