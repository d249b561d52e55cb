// SPDX-License-Identifier: GPL-2.0-or-later
import { readdirSync, readFileSync } from 'node:fs';
import { defineModule, type PlanContext } from '../../src/core/module.ts';
import type { StageItem } from '../../src/core/stage.ts';
import { BaseFs } from '../../src/host/base.ts';
import { resolveBinaries } from '../../src/host/binaries.ts';
import { warn } from '../../src/log.ts';
import { headerFiles, keyFiles, parseCrypttab, wantsTokens } from './crypttab.ts';

/**
 * The base's /etc/crypttab, and the key files its boot entries name (mode 0600; the image is then
 * written 0600 too, as initramfs-tools does with a key in the initramfs).
 */
async function planCrypttab(ctx: PlanContext): Promise<StageItem[]> {
  const base = new BaseFs(ctx.base);
  const tab = base.resolve('/etc/crypttab');
  if (!tab) return [];
  const entries = parseCrypttab(readFileSync(base.hostPath(tab.path), 'utf8'));
  const items: StageItem[] = [{ kind: 'file', path: '/etc/crypttab', mode: 0o644, source: base.hostPath(tab.path) }];
  // Detached headers (header=): needed to open the device, not enough without its passphrase.
  for (const header of headerFiles(entries)) {
    const found = base.resolve(header);
    if (found) items.push({ kind: 'file', path: header, mode: 0o600, source: base.hostPath(found.path) });
    else warn(`crypt: header ${header} of /etc/crypttab not in the base`);
  }
  if (wantsTokens(entries)) items.push(...(await planTokenTools(base)));
  for (const key of keyFiles(entries)) {
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

/** systemd dlopen()s its TPM2 and FIDO2 libraries: no DT_NEEDED names them. */
const TOKEN_LIBS = /^lib(tss2-(esys|rc|mu|tcti-device)|fido2)\.so\.\d+$/;

/**
 * systemd-cryptsetup and the libraries it loads at run time, when a crypttab entry asks for a TPM2
 * or FIDO2 token (tpm2-device=, fido2-device=): crypt.sh hands such devices to it.
 */
async function planTokenTools(base: BaseFs): Promise<StageItem[]> {
  const tool = ['/usr/lib/systemd/systemd-cryptsetup', '/lib/systemd/systemd-cryptsetup'].find((p) => base.resolve(p));
  if (!tool) {
    warn('crypt: /etc/crypttab asks for a TPM2 or FIDO2 token, but the base has no systemd-cryptsetup; the passphrase will be asked');
    return [];
  }
  const libs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'].flatMap((dir) => {
    const found = base.resolve(dir);
    if (!found) return [];
    try {
      return readdirSync(base.hostPath(found.path)).filter((n) => TOKEN_LIBS.test(n)).map((n) => `${dir}/${n}`);
    } catch {
      return [];
    }
  });
  return (await resolveBinaries(base, [tool, ...libs], { optional: true })).items;
}

export default defineModule({
  name: 'crypt',
  description: "unlock LUKS devices (rd.luks.*, cryptdevice=, the base's /etc/crypttab) with cryptsetup, no udev",
  depends: ['base', 'kmod'],
  // dm-crypt and the usual LUKS ciphers (kept compressed: only a machine with LUKS loads them); the
  // kernel asks modprobe for the rest by crypto alias.
  coldKernelModules: [
    'dm_mod', 'dm_crypt', 'xts', 'essiv', 'ecb', 'lrw', 'aesni_intel', 'cryptd', 'serpent_generic', 'twofish_generic',
    'sha512_generic', 'blake2b_generic', 'algif_skcipher', 'algif_hash', 'af_alg', 'dm_integrity',
  ],
  binaries: ['cryptsetup'],
  // Unpacked when a LUKS device is found (most boots of a generic image have none).
  coldBinaries: ['cryptsetup', 'blkid'],
  // LUKS2 UUIDs: busybox findfs may not know them; util-linux blkid does.
  optionalBinaries: ['blkid'],
  files: [
    { from: 'templates/lib/storage.sh', to: '/lib/ruckusrd/storage.sh' },
    { from: 'crypt.sh', to: '/lib/ruckusrd/crypt.sh' },
    { from: 'crypt-key.sh', to: '/lib/ruckusrd/crypt-key.sh' },
  ],
  hooks: { devices: ['31-unlock.sh'] },
  params: ['rd.luks', 'rd.luks.uuid', 'rd.luks.name', 'rd.luks.options', 'rd.luks.key', 'cryptdevice'],
  plan: planCrypttab,
});
