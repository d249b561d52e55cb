// SPDX-License-Identifier: GPL-2.0-or-later
// The layer stack as data: ruckusrd.conf (what the next boot assembles) and /run/ruckusrd/state
// (what this boot assembled). Everything written into ruckusrd.conf passes src/core/params.ts's
// validators, the same rules /init applies when it reads the file.
import { findParam, isValidParam } from '../core/params.ts';

/** ruckusrd.conf as ordered key → value ('' for a bare flag); comments are not kept. */
export type Conf = Map<string, string>;

export function parseConf(text: string): Conf {
  const conf: Conf = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) conf.set(line, '');
    else conf.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return conf;
}

/** Throws Error naming the first key or value /init would refuse. */
export function renderConf(conf: Conf): string {
  const lines = ['# written by mkruckus (layer commands); the kernel command line wins key by key'];
  for (const [k, v] of conf) {
    const spec = findParam(k);
    if (!spec) throw new Error(`ruckusrd.conf: unknown parameter ${k}`);
    if (spec.cmdlineOnly) throw new Error(`ruckusrd.conf: ${k} is read before ruckusrd.conf`);
    if (spec.kind === 'flag') {
      lines.push(k);
      continue;
    }
    if (!isValidParam(k, v)) throw new Error(`ruckusrd.conf: invalid value for ${k}: ${v}`);
    lines.push(`${k}=${v}`);
  }
  return lines.join('\n') + '\n';
}

export const layersOf = (conf: Conf): string[] => (conf.get('sqsh_layers') ?? '').split(':').filter(Boolean);

export function withLayers(conf: Conf, layers: readonly string[]): Conf {
  const next = new Map(conf);
  if (layers.length) next.set('sqsh_layers', layers.join(':'));
  else next.delete('sqsh_layers');
  return next;
}

export interface BootLayer { name: string; fstype: string; file: string; mountpoint: string }

export interface BootState {
  mode: string;
  root: string;
  rootdev: string;
  layers: BootLayer[];
  upper: string;
  ramLayer: string;
  fatal: string;
  raw: Map<string, string[]>;
}

/** /run/ruckusrd/state (README: key=value lines, `layer=` repeated, top first). */
export function parseState(text: string): BootState {
  const raw = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const k = line.slice(0, eq);
    raw.set(k, [...(raw.get(k) ?? []), line.slice(eq + 1)]);
  }
  const one = (k: string) => raw.get(k)?.at(-1) ?? '';
  const layers = (raw.get('layer') ?? []).map((v) => {
    const [name = '', fstype = '', file = '', mountpoint = ''] = v.split(' ');
    return { name, fstype, file, mountpoint };
  });
  return { mode: one('mode'), root: one('root'), rootdev: one('rootdev'), layers, upper: one('upper'), ramLayer: one('ram_layer'), fatal: one('fatal'), raw };
}
