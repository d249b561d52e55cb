// SPDX-License-Identifier: GPL-2.0-or-later
import { readFileSync } from 'node:fs';
import { defineModule, type PlanContext } from '../../src/core/module.ts';
import type { StageItem } from '../../src/core/stage.ts';
import { BaseFs } from '../../src/host/base.ts';
import { warn } from '../../src/log.ts';
import { keyFiles, parseCrypttab } from './crypttab.ts';

/**
 * The base's /etc/crypttab, and the key files its boot entries name (mode 0600; the image is then
 * written 0600 too, as initramfs-tools does with a key in the initramfs).
 */
function planCrypttab(ctx: PlanContext): StageItem[] {
  const base = new BaseFs(ctx.base);
  const tab = base.resolve('/etc/crypttab');
  if (!tab) return [];
  const text = readFileSync(base.hostPath(tab.path), 'utf8');
  const items: StageItem[] = [{ kind: 'file', path: '/etc/crypttab', mode: 0o644, source: base.hostPath(tab.path) }];
  for (const key of keyFiles(parseCrypttab(text))) {
    const found = base.resolve(key);
    if (!found) {
      warn(`crypt: key file ${key} of /etc/crypttab not in the base; its device will ask for a passphrase`);
      continue;
    }
    warn(`crypt: key file ${key} is included in the image: anyone who can read the image can unlock its device`);
    items.push({ kind: 'file', path: key, mode: 0o600, source: base.hostPath(found.path), secret: true });
  }
  return items;
}

export default defineModule({
  name: 'crypt',
  description: "unlock LUKS devices (rd.luks.*, cryptdevice=, the base's /etc/crypttab) with cryptsetup, no udev",
  depends: ['base', 'kmod'],
  // dm-crypt and the usual LUKS ciphers; the kernel asks modprobe for the rest by crypto alias.
  kernelModules: [
    'dm_mod', 'dm_crypt', 'xts', 'essiv', 'ecb', 'lrw', 'aesni_intel', 'cryptd', 'serpent_generic', 'twofish_generic',
    'sha512_generic', 'blake2b_generic', 'algif_skcipher', 'algif_hash', 'af_alg', 'dm_integrity',
  ],
  bootKernelModules: ['dm_mod', 'dm_crypt'],
  binaries: ['cryptsetup'],
  // LUKS2 UUIDs: busybox findfs may not know them; util-linux blkid does.
  optionalBinaries: ['blkid'],
  files: [
    { from: 'templates/lib/storage.sh', to: '/lib/ruckusrd/storage.sh' },
    { from: 'crypt.sh', to: '/lib/ruckusrd/crypt.sh' },
  ],
  hooks: { devices: ['31-unlock.sh'] },
  params: ['rd.luks', 'rd.luks.uuid', 'rd.luks.name', 'rd.luks.options', 'cryptdevice'],
  plan: planCrypttab,
});
