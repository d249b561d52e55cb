// SPDX-License-Identifier: GPL-2.0-or-later
// `inspect` prints names from the image: a newline or ESC in a name must not forge lines or reach the
// terminal (issue 12 item 8). Rendered from a segment as the reader returns it.
import { expect, test } from 'bun:test';
import type { ImageSegment } from '../../src/archive/read.ts';
import { escapeControls, renderInspect } from '../../src/cli/inspect.ts';

const hostile: ImageSegment = {
  offset: 0, compressedSize: 512, uncompressedSize: 512, compression: 'none', exactEnd: true,
  entries: [
    { path: '/etc/a\n  - 0644          1 /etc/forged', type: 'file', mode: 0o644, size: 1 },
    { path: '/lib/ruckusrd/hooks/mount/\x1b[31mred\x1b]0;title\x07', type: 'file', mode: 0o644, size: 2 },
    { path: '/x', type: 'symlink', mode: 0o777, size: 3, target: '\r/evil\x9b2J' },
    { path: '/ünïcode ok', type: 'file', mode: 0o644, size: 4 },
  ],
};

test('control characters in names and link targets are escaped; one entry is one line', () => {
  const text = renderInspect([hostile]);
  expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  const lines = text.split('\n');
  expect(lines).toContain('  - 0644          1 /etc/a\\x0a  - 0644          1 /etc/forged');
  expect(lines).not.toContain('  - 0644          1 /etc/forged');
  expect(lines).toContain('  - 0644          2 /lib/ruckusrd/hooks/mount/\\x1b[31mred\\x1b]0;title\\x07');
  expect(lines).toContain('  l 0777          3 /x -> \\x0d/evil\\x9b2J');
  expect(lines).toContain('  - 0644          4 /ünïcode ok');
  expect(lines).toContain('  /lib/ruckusrd/hooks/mount/\\x1b[31mred\\x1b]0;title\\x07');
});

test('--json keeps names exact (JSON escapes them itself)', () => {
  const json = renderInspect([hostile], { json: true });
  expect(json).not.toMatch(/[\x00-\x1f\x7f-\x9f](?<!\n)/);
  expect(JSON.parse(json).segments[0].entries[0].path).toBe(hostile.entries[0]!.path);
});

test('escapeControls', () => {
  expect(escapeControls('a\tb\x00c\x7fd\u0085e\\f')).toBe('a\\x09b\\x00c\\x7fd\\x85e\\f');
});
