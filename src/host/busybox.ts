// SPDX-License-Identifier: GPL-2.0-or-later
// The base's busybox applets, read from the binary's own tables (src/core/busybox.ts): the binary is
// never executed, so a base for another architecture, on a noexec mount, or a hostile one all work.
import { busyboxVersion, parseBusyboxApplets } from '../core/busybox.ts';
import { UserError } from '../log.ts';
import type { BaseFs } from './base.ts';

const BUSYBOX_PATHS = ['/usr/bin/busybox', '/bin/busybox', '/usr/sbin/busybox', '/sbin/busybox'];

/**
 * Applet paths of the base's busybox; [] when the base has none (a module that needs it fails on its
 * own). A busybox whose applet table cannot be read is an error: an image without /bin/sh never boots.
 */
export function readBusyboxApplets(base: BaseFs): string[] {
  const found = BUSYBOX_PATHS.find((p) => base.resolveFile(p) !== null);
  if (found === undefined) return [];
  const bin = base.mapFile(found);
  const applets = parseBusyboxApplets(bin);
  if (!applets?.length) {
    const version = busyboxVersion(bin);
    throw new UserError(`cannot read the applet list of ${found} in base ${base.root} (busybox ${version ?? 'of unknown version'}): no applet table found`);
  }
  if (!applets.some((a) => a.endsWith('/sh'))) throw new UserError(`${found} in base ${base.root} has no sh applet: the image could not run /init`);
  return applets;
}
