// SPDX-License-Identifier: GPL-2.0-or-later
// Reads /etc/mkruckus.conf and /etc/mkruckus.conf.d/*.conf (in name order) under --base.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, type FileConfig } from '../core/config.ts';

export function readConfigFiles(base: string): FileConfig {
  const files = [join(base, 'etc/mkruckus.conf')];
  try {
    const dir = join(base, 'etc/mkruckus.conf.d');
    files.push(...readdirSync(dir).filter((n) => n.endsWith('.conf')).sort().map((n) => join(dir, n)));
  } catch {
    // no conf.d
  }
  const config: FileConfig = {};
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    parseConfig(text, file, config);
  }
  return config;
}
