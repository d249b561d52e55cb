// SPDX-License-Identifier: GPL-2.0-or-later
// --hostonly: what this machine needs to reach its root. The root mount (mountinfo) gives the device
// and filesystem; the device's sysfs ancestors give modaliases and drivers (through dm/md slaves
// too); /proc/modules gives the storage and console drivers already loaded. Requests are aliases and
// names, resolved against the module index like any others; the facts are recorded in the image
// (/etc/ruckusrd/hostonly) so a wrong guess shows in `inspect`. MKRUCKUS_HOSTONLY_ROOT points the
// probe at a copy of /proc and /sys (tests); it is never a build input otherwise.
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { UserError } from '../log.ts';

export const HOSTONLY_PATH = '/etc/ruckusrd/hostonly';

export interface HostFacts {
  root: { source: string; fstype: string; dev: string };
  devices: { sysfs: string; modalias?: string; driver?: string }[];
  loaded: string[];
  /** kernel module requests: aliases, names, `fs-TYPE` */
  requests: string[];
  /** build modules the root's device chain needs: crypt (dm CRYPT-), lvm (dm LVM-), mdraid (md/) */
  modules: string[];
}

/** Loaded modules worth carrying: storage, filesystems, the console (paths as modules.dep has them). */
const LOADED_RE = /^kernel\/(drivers\/(ata|scsi|nvme|block|md|virtio|mmc|usb\/storage|usb\/host|tty|hv|xen)\/|fs\/|crypto\/)/;

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
};

function rootMount(sysroot: string): HostFacts['root'] {
  const lines = (read(join(sysroot, 'proc/self/mountinfo')) ?? '').split('\n');
  // The last mount on / is the one in effect.
  const line = lines.filter((l) => l.split(' ')[4] === '/').at(-1);
  if (!line) throw new UserError('--hostonly: no root mount in /proc/self/mountinfo');
  const [pre, post = ''] = line.split(' - ');
  const [fstype = '', source = ''] = post.split(' ');
  return { source, fstype, dev: pre!.split(' ')[2] ?? '' };
}

/**
 * The build module a stacked block device needs: dm's uuid prefix says who made it (cryptsetup
 * CRYPT-LUKS2-…, lvm LVM-…), an md device has md/. Plain disks and partitions need none.
 */
function storageModule(blockDir: string): string | undefined {
  const uuid = read(join(blockDir, 'dm/uuid')) ?? '';
  if (uuid.startsWith('CRYPT-')) return 'crypt';
  if (uuid.startsWith('LVM-')) return 'lvm';
  return existsSync(join(blockDir, 'md')) ? 'mdraid' : undefined;
}

/** The device's sysfs directory and its ancestors up to /sys/devices, then the same for each slave. */
function deviceChain(sysroot: string, blockDir: string, out: HostFacts['devices'], seen: Set<string>, modules: Set<string>): void {
  if (seen.has(blockDir)) return;
  seen.add(blockDir);
  const needs = storageModule(blockDir);
  if (needs) modules.add(needs);
  const top = join(sysroot, 'sys/devices');
  for (let d = blockDir; d.startsWith(top) && d !== top; d = dirname(d)) {
    const modalias = read(join(d, 'modalias'));
    const driverLink = join(d, 'driver/module');
    const driver = existsSync(driverLink) ? basename(readlinkSync(driverLink)) : undefined;
    if (modalias || driver) out.push({ sysfs: `/${relative(sysroot, d)}`, ...(modalias ? { modalias } : {}), ...(driver ? { driver } : {}) });
  }
  const slaves = join(blockDir, 'slaves');
  for (const s of existsSync(slaves) ? readdirSync(slaves).sort() : []) deviceChain(sysroot, realpathSync(join(slaves, s)), out, seen, modules);
  // A partition's slaves live on its disk.
  const disk = dirname(blockDir);
  if (existsSync(join(disk, 'dev')) && existsSync(join(disk, 'slaves'))) deviceChain(sysroot, disk, out, seen, modules);
}

/** `modulePath(name)`: the module's path in modules.dep, to keep only storage/console ones that are loaded. */
export function detectHost(modulePath: (name: string) => string | undefined, sysroot = process.env.MKRUCKUS_HOSTONLY_ROOT ?? '/'): HostFacts {
  const root = rootMount(sysroot);
  const devices: HostFacts['devices'] = [];
  const modules = new Set<string>();
  const devLink = join(sysroot, 'sys/dev/block', root.dev);
  if (/^\d+:\d+$/.test(root.dev) && existsSync(devLink)) deviceChain(sysroot, realpathSync(devLink), devices, new Set(), modules);
  const loaded = (read(join(sysroot, 'proc/modules')) ?? '').split('\n').map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n && LOADED_RE.test(modulePath(n) ?? '')).sort();
  const requests = [...new Set([
    ...devices.flatMap((d) => [...(d.modalias ? [d.modalias] : []), ...(d.driver ? [d.driver] : [])]),
    ...(root.fstype ? [`fs-${root.fstype}`] : []),
    ...loaded,
  ])];
  return { root, devices, loaded, requests, modules: [...modules].sort() };
}

export function renderHostFacts(f: HostFacts): string {
  return [
    `root=${f.root.source} fstype=${f.root.fstype} dev=${f.root.dev}`,
    ...f.devices.map((d) => `device=${d.sysfs}${d.modalias ? ` modalias=${d.modalias}` : ''}${d.driver ? ` driver=${d.driver}` : ''}`),
    `loaded=${f.loaded.join(' ')}`,
    ...(f.modules.length ? [`modules=${f.modules.join(' ')}`] : []),
    `requests=${f.requests.join(' ')}`,
  ].map((l) => `${l.replace(/[\x00-\x1f\x7f]/g, '?')}\n`).join('');
}
