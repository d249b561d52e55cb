// SPDX-License-Identifier: GPL-2.0-or-later
// The boot parameter table and its TypeScript validators, one kind at a time, at the edges of each
// pattern (anchors, character classes, `..`, empty items). test/shell/params.test.ts checks that the
// shell's param_valid agrees with these on a shared sample.
import { describe, expect, test } from 'bun:test';
import { findParam, isValidParam, MAX_VALUE, PARAMS, renderParamsAllowlist, type ParamKind } from '../../src/core/params.ts';

/** A parameter of each kind, so the kind's validator is reached through the public isValidParam. */
const BY_KIND = (kind: ParamKind): string => {
  const p = PARAMS.find((x) => x.kind === kind);
  if (!p) throw new Error(`no parameter of kind ${kind}`);
  return p.name;
};

const CASES: Record<ParamKind, { ok: string[]; bad: string[] }> = {
  flag: { ok: ['', '1', 'anything at all'], bad: [] },
  device: {
    ok: ['/dev/vda', '/dev/vda1', '/dev/disk/by-id/ata-X_1:2+3', '/dev/mapper/vg-root', '/dev/a.b', '/dev/..x',
      'LABEL=root', 'UUID=5f1f9a3e-7c1b', 'PARTUUID=abc-01', 'PARTLABEL=my-root', 'LABEL=/x'],
    bad: ['', '/dev/', '/dev', 'dev/vda', '/devx/vda', 'x/dev/vda', ' /dev/vda', '/dev/vda ', '/dev/v da', '/dev/v*',
      '/dev/../etc/passwd', '/dev/a/../b', '/dev/a/..', 'LABEL=', 'LABEL=a b', 'LABEL=a\tb', 'label=root', 'XLABEL=root',
      'LABELS=root', 'ID=root', 'UUID', '/dev/vda;reboot', '/dev/$x'],
  },
  name: {
    ok: ['0', 'no', '5f1f9a3e-7c1b-4f5e-9c2a-1d2e3f4a5b6c', 'luks-5f1f', 'vg0', 'a.b-c_D9'],
    bad: ['', '..', 'a..b', 'a/b', 'a:b', 'a,b', 'a b', 'a=b', 'a*', 'a;b', '$x'],
  },
  names: {
    ok: ['base', 'a.b-c_D9', 'extra:server:base', '-'],
    bad: ['', 'a::b', ':a', 'a:', 'a:b/c', 'a:..', 'a..b', '..', 'a b', 'a,b', 'a:b c', 'a*'],
  },
  list: {
    ok: ['virtio_blk', 'virtio_blk,ext4', 'a.b-c_D9'],
    bad: ['', 'a,,b', ',a', 'a,', 'a:b', 'a,b c', 'a,../b', 'a,..', 'a/b'],
  },
  size: {
    ok: ['512M', '2G', '50%', '1024', '1k', '1K', '1m', '1g', '0'],
    bad: ['', 'M', '%', '2T', '2GB', '-1', '1.5G', ' 2G', '2G ', 'G2', '2%%', '100x'],
  },
  number: { ok: ['0', '10', '999999'], bad: ['007', '08', '00', '1000000', '', '1s', '-1', '1.0', ' 1', '1 ', 'a1', '1e3'] },
  abspath: {
    ok: ['/', '/sbin/init', '/a-b/c_d.e+f', '/a..b', '/a/.b'],
    bad: ['', 'sbin/init', './init', '/a/../b', '/..', '/a/..', '/a b', '/a;b', '/a$b', '/a\\b', '/a:b', '/a*'],
  },
  relpath: {
    ok: ['layers', 'a/b', 'a.b/c+d_e-f', 'a..b', 'a/'],
    bad: ['', '/layers', '../x', 'a/../b', 'a/..', '..', 'a b', 'a;b', 'a:b'],
  },
  fstype: { ok: ['ext4', 'vfat', 'fuse.sshfs', 'nfs_x', '9p'], bad: ['', 'EXT4', 'Ext4', 'ext 4', 'ext-4', 'ext4;', 'a/b'] },
  options: {
    ok: ['noatime,data=ordered', 'ro', 'a=b:c/d', 'x-systemd.device-timeout=5', 'lowerdir=/a:/b'],
    bad: ['', 'a b', 'a\tb', "a'b", 'a"b', 'a`b', 'a$b', 'a\\b', 'a;b', 'a|b', 'a&b', 'a<b', 'a>b', 'a(b', 'a)b', 'a\nb'],
  },
  sizeordevice: {
    ok: ['512M', '50%', '10', '/dev/vdb', 'LABEL=var', 'UUID=1-2'],
    bad: ['', 'var', 'M', '2T', '/dev/../x', '/dev/', 'LABEL=', 'tmpfs'],
  },
  devices: {
    ok: ['/dev/vda', '/dev/vda,LABEL=fw', 'UUID=1,UUID=2,/dev/sr0'],
    bad: ['', '/dev/vda,', ',/dev/vda', '/dev/vda,,/dev/vdb', '/dev/vda,fw', '/dev/vda /dev/vdb', 'LABEL=a,/dev/..'],
  },
};

describe('validators, kind by kind', () => {
  for (const [kind, { ok, bad }] of Object.entries(CASES) as [ParamKind, { ok: string[]; bad: string[] }][]) {
    const name = BY_KIND(kind);
    if (ok.length) test.each(ok)(`${kind} (${name}) accepts %p`, (v) => expect(isValidParam(name, v)).toBe(true));
    if (bad.length) test.each(bad)(`${kind} (${name}) refuses %p`, (v) => expect(isValidParam(name, v)).toBe(false));
  }
});

describe('the table', () => {
  test('every kind used by a parameter has cases here, and names are unique', () => {
    const kinds = new Set(PARAMS.map((p) => p.kind));
    expect([...kinds].filter((k) => !(k in CASES))).toEqual([]);
    expect(new Set(PARAMS.map((p) => p.name)).size).toBe(PARAMS.length);
  });

  test('an unknown parameter is never valid, whatever its value', () => {
    expect(isValidParam('rootfs', '/dev/vda')).toBe(false);
    expect(isValidParam('', '')).toBe(false);
    expect(isValidParam('toString', '')).toBe(false);
    expect(findParam('rootfs')).toBeUndefined();
    expect(findParam('constructor')).toBeUndefined();
  });

  test('findParam gives the row', () => {
    expect(findParam('root')).toEqual({ name: 'root', kind: 'device', help: 'the root device', cmdlineOnly: true });
    expect(findParam('ram_layer')?.kind).toBe('size');
    expect(findParam('ro')?.cmdlineOnly).toBeUndefined();
  });

  test('a multi parameter is cmdlineOnly (its `multi` is the 4th column of the allowlist)', () => {
    expect(PARAMS.filter((p) => p.multi && !p.cmdlineOnly).map((p) => p.name)).toEqual([]);
    expect(PARAMS.filter((p) => p.multi).length).toBeGreaterThan(0);
  });

  test('every parameter says what it is for', () => {
    expect(PARAMS.filter((p) => p.help.trim() === '').map((p) => p.name)).toEqual([]);
  });

  // The contract with templates/lib/params.sh: which parameters /init accepts, how it validates each,
  // and which it takes from the command line only. A change here is a change of the boot interface.
  test('the allowlist /init reads, golden', () => {
    expect(renderParamsAllowlist()).toBe(
      ['root device cmdline', 'rootfstype fstype cmdline', 'rootflags options cmdline', 'ro flag', 'rw flag', 'rootwait flag cmdline',
        'rootdelay number cmdline', 'init abspath', 'shell flag cmdline', 'maint flag', 'rescue name cmdline', 'quiet flag cmdline', 'verbose flag cmdline',
        'modules-early list cmdline', 'blacklist list cmdline', 'sqsh_layers names', 'sqsh_layerdir relpath', 'sqsh_layerdev device',
        'sqshfstype fstype', 'ram_layer size', 'to_ram flag', 'overlayflags options', 'sqsh_verity name cmdline', 'sqsh_verity_roots options cmdline', 'root_true_rw flag', 'var_layer sizeordevice',
        'fwdev devices cmdline', 'modinject flag', 'hoststamp flag', 'initramsys flag cmdline', 'stage2_dev device cmdline',
        'stage2_path abspath cmdline', 'rd.luks name cmdline', 'rd.luks.uuid name cmdline multi', 'rd.luks.name options cmdline multi',
        'rd.luks.options options cmdline multi', 'rd.luks.key options cmdline multi', 'cryptdevice options cmdline', 'rd.lvm name cmdline', 'rd.lvm.vg name cmdline multi',
        'rd.lvm.lv relpath cmdline multi', 'rd.md name cmdline', 'rd.md.uuid options cmdline multi', 'resume device cmdline',
        'noresume flag cmdline'].map((l) => `${l}\n`).join(''),
    );
  });

  test('the allowlist has one `name kind [cmdline]` line per parameter, in table order', () => {
    const text = renderParamsAllowlist();
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.slice(0, -1).split('\n');
    expect(lines).toEqual(PARAMS.map((p) => [p.name, p.kind, ...(p.cmdlineOnly ? ['cmdline'] : []), ...(p.multi ? ['multi'] : [])].join(' ')));
    expect(lines).toContain('root device cmdline');
    expect(lines).toContain('ro flag');
    expect(lines).toContain('sqsh_layers names');
  });
});

describe('value length', () => {
  test('a flag takes any value; every other kind is bounded by MAX_VALUE', () => {
    expect(isValidParam('ro', 'x'.repeat(MAX_VALUE * 2))).toBe(true);
    expect(isValidParam('rootflags', 'a'.repeat(MAX_VALUE))).toBe(true);
    expect(isValidParam('rootflags', 'a'.repeat(MAX_VALUE + 1))).toBe(false);
  });
});
