// SPDX-License-Identifier: GPL-2.0-or-later
// The image reader on Debian's own initramfs (initramfs-tools' layout: an early cpio, then a compressed one).
import { describe, expect } from 'bun:test';
import { existsSync, readdirSync } from 'node:fs';
import { readImageFile } from '../../src/archive/read.ts';
import { renderInspect } from '../../src/cli/inspect.ts';
import { testNeeding } from './need.ts';

describe('readImageFile on the host', () => {
  // Debian's own images, one per installed kernel (not update-initramfs's .new or .dpkg-bak leftovers)
  const hostImages = existsSync('/boot') && existsSync('/lib/modules')
    ? readdirSync('/lib/modules').map((k) => `/boot/initrd.img-${k}`).filter((p) => existsSync(p)).sort()
    : [];
  for (const image of hostImages.length ? hostImages : ['/boot/initrd.img-*']) {
    testNeeding(hostImages.length ? [] : [image], `the host initramfs ${image} parses and holds kernel modules`, async () => {
      const segments = await readImageFile(image);
      const modules = segments.flatMap((s) => s.entries).filter((e) => /\/lib\/modules\/.+\.ko/.test(e.path));
      expect(modules.length).toBeGreaterThan(0);
      expect(renderInspect(segments)).toMatch(/^kernel modules \([1-9]\d*\):$/m);
    }, 60_000);
  }
});
