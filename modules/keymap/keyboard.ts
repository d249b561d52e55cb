// SPDX-License-Identifier: GPL-2.0-or-later
// Which console keymap the base uses, as data (pure): systemd's /etc/vconsole.conf (KEYMAP=, or
// XKBLAYOUT=…) and Debian's /etc/default/keyboard (XKBLAYOUT=…, read by console-setup). The
// conversion to busybox's binary map (loadkmap) is module.ts's.

export type KeymapSource =
  | { kind: 'keymap'; name: string }
  | { kind: 'xkb'; layout: string; variant: string; model: string; options: string };

/** KEY=value lines of a shell-style config file; quotes stripped, comments and other lines skipped. */
export function parseAssignments(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const m = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(raw);
    if (!m) continue;
    let value = m[2]!.trim();
    const q = value[0];
    if ((q === '"' || q === "'") && value.endsWith(q) && value.length >= 2) value = value.slice(1, -1);
    out.set(m[1]!, value);
  }
  return out;
}

/** A plain name: what a keymap or XKB word may be (no paths, no spaces, nothing a shell would expand). */
const WORD = /^[A-Za-z0-9_.+:,()-]*$/;

/**
 * The base's keymap: vconsole.conf's KEYMAP= first (systemd), then XKB settings from
 * /etc/default/keyboard (Debian), then vconsole.conf's XKB ones. undefined: none, or plain US
 * (the kernel's own map), so nothing is needed.
 */
export function keymapSource(vconsole: string | undefined, keyboard: string | undefined): KeymapSource | undefined {
  const v = parseAssignments(vconsole ?? '');
  const k = parseAssignments(keyboard ?? '');
  const keymap = v.get('KEYMAP') ?? '';
  if (keymap && WORD.test(keymap)) return keymap === 'us' ? undefined : { kind: 'keymap', name: keymap };
  for (const a of [k, v]) {
    const layout = a.get('XKBLAYOUT') ?? '';
    if (!layout) continue;
    const src = { kind: 'xkb' as const, layout, variant: a.get('XKBVARIANT') ?? '', model: a.get('XKBMODEL') ?? '', options: a.get('XKBOPTIONS') ?? '' };
    if (![src.layout, src.variant, src.model, src.options].every((w) => WORD.test(w))) return undefined;
    return layout === 'us' && !src.variant && !src.options ? undefined : src;
  }
  return undefined;
}

/** The command lines that make the binary map: ckbcomp's text keymap piped into `loadkeys -b`. */
export function xkbCommand(s: Extract<KeymapSource, { kind: 'xkb' }>): string[] {
  // ISO-8859-1: `loadkeys -b` writes 8-bit entries; the kernel turns Latin-1 keysyms into UTF-8 itself.
  return [
    'ckbcomp', '-charmap', 'ISO-8859-1',
    ...(s.model ? ['-model', s.model] : []),
    ...(s.variant ? ['-variant', s.variant] : []),
    ...(s.options ? ['-option', s.options] : []),
    s.layout,
  ];
}

export function describeKeymap(s: KeymapSource): string {
  return s.kind === 'keymap' ? s.name : [s.layout, s.variant].filter(Boolean).join(':');
}
