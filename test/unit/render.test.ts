// SPDX-License-Identifier: GPL-2.0-or-later
// Small pure pieces: the data files /init reads (render.ts), kernel selection, the config file
// parser's line syntax, and the build request's own rules (SOURCE_DATE_EPOCH, placement modules).
import { describe, expect, test } from 'bun:test';
import { parseConfig } from '../../src/core/config.ts';
import { selectKernel } from '../../src/core/kernel.ts';
import { hookInstallPath, renderBuildConf, renderModulesLoad } from '../../src/core/render.ts';
import { buildRequest, DEFAULT_MODULES } from '../../src/core/request.ts';
import { configKeys, defaultText, findConfigKey, findOption, isChoice, mergeOptions, optionField, splitList, withDefaults } from '../../src/core/options.ts';
import { shQuote } from '../../src/core/shquote.ts';
import { UserError } from '../../src/log.ts';

describe('render', () => {
  test('build.conf: KEY=\'value\' lines, quoted for sh', () => {
    expect(renderBuildConf({ version: '0.1.0', kernelVersion: '6.1.0-56-amd64', modules: ['base', "it's"], compress: 'zstd' })).toBe(
      "MKRUCKUS_VERSION='0.1.0'\nKERNEL_VERSION='6.1.0-56-amd64'\nMODULES='base it'\\''s'\nCOMPRESS='zstd'\n",
    );
    expect(renderBuildConf({ version: '', kernelVersion: 'k', modules: [], compress: 'none' })).toBe(
      "MKRUCKUS_VERSION=''\nKERNEL_VERSION='k'\nMODULES=''\nCOMPRESS='none'\n",
    );
  });
  test('modules-load: one name a line, or nothing', () => {
    expect(renderModulesLoad(['virtio_blk', 'ext4'])).toBe('virtio_blk\next4\n');
    expect(renderModulesLoad([])).toBe('');
  });
  test.each([
    ['mount', 'rootfs', '50-mount-root.sh', '/lib/ruckusrd/hooks/mount/50-rootfs-mount-root.sh'],
    ['pre-pivot', 'overlay', '95-move-layers.sh', '/lib/ruckusrd/hooks/pre-pivot/95-overlay-move-layers.sh'],
    ['early', 'a-b', '01-x-10-y.sh', '/lib/ruckusrd/hooks/early/01-a-b-x-10-y.sh'],
  ])('hook %s/%s/%s installs as %s', (phase, module, file, want) => expect(hookInstallPath(phase, module, file)).toBe(want));
  test.each(["''", "'", "a'b'c", '\n', ''])('shQuote %p is one single-quoted word', (s) => {
    const q = shQuote(s);
    expect(q.startsWith("'") && q.endsWith("'")).toBe(true);
    expect(q.slice(1, -1).replaceAll("'\\''", '')).not.toContain("'");
  });
});

describe('selectKernel edges', () => {
  test('an exact version wins over its own prefix matches', () => {
    expect(selectKernel(['6.1', '6.1.0-5', '6.10'], '6.1', 'x', '/')).toBe('6.1');
  });
  test('the prefix is a prefix, not a substring', () => {
    expect(() => selectKernel(['6.1.0-56-amd64'], '56', 'x', '/b')).toThrow(
      new UserError("kernel '56' is not installed under /b; installed: 6.1.0-56-amd64"),
    );
  });
  test('ambiguity lists the matches sorted; errors list every installed version sorted', () => {
    expect(() => selectKernel(['6.1.b', '6.1.a', '5.10'], '6.1', 'x', '/')).toThrow(new UserError(
      "kernel '6.1' is ambiguous: 6.1.a, 6.1.b match it; give one of them with --kernel (installed: 5.10, 6.1.a, 6.1.b)",
    ));
    expect(() => selectKernel(['b', 'a'], 'c', 'x', '/')).toThrow(new UserError("kernel 'c' is not installed under /; installed: a, b"));
    expect(() => selectKernel(['b', 'a'], undefined, 'c', '/r')).toThrow(
      new UserError('the running kernel c has no modules under /r; pick one with --kernel: a, b'),
    );
  });
  test('no kernel at all says so', () => {
    expect(() => selectKernel([], undefined, 'c', '/')).toThrow('pick one with --kernel: (none)');
    expect(() => selectKernel([], '6', 'c', '/')).toThrow("kernel '6' is not installed under /; installed: (none)");
  });
  test('the running kernel is found when installed; a request overrides it', () => {
    expect(selectKernel(['a', 'b'], undefined, 'b', '/')).toBe('b');
    expect(selectKernel(['a', 'b'], 'a', 'b', '/')).toBe('a');
  });
});

describe('config file lines', () => {
  test.each([
    ['# only a comment\n\n   \n\t# indented comment\n', {}],
    ['compress=xz', { compress: 'xz' }],
    ['  compress   =   gzip  ', { compress: 'gzip' }],
    ['compress = "lz4"', { compress: 'lz4' }],
    ["compress = 'none'", { compress: 'none' }],
    ['ucode = "/a b"', { ucode: '/a b' }],
    ["ucode = \"it's\"", { ucode: "it's" }],
    ['ucode = "x\'', { ucode: '"x\'' }],
    ['add = a,b  c\nadd = d', { add: ['a', 'b', 'c', 'd'] }],
    ['add = ', { add: [] }],
    ['modules = a\nmodules = b', { modules: ['b'] }],
    ['modules = a\nmodules += b,c', { modules: ['a', 'b', 'c'] }],
    ['no-ucode = yes', { noUcode: true }],
    ['no-ucode = OFF', { noUcode: false }],
    ['compress = xz\r', { compress: 'xz' }],
  ] as [string, object][])('%p', (text, want) => {
    expect(parseConfig(text, 'f')).toEqual(want);
  });
  test.each([
    ['compress', "f:1: expected key = value, got: compress"],
    ['= xz', 'f:1: expected key = value, got: = xz'],
    ['1compress = xz', 'f:1: expected key = value'],
    ['com press = xz', 'f:1: expected key = value'],
    ['\n\ncompress: xz', 'f:3: expected key = value, got: compress: xz'],
    ['bogus = 1', `f:1: unknown key 'bogus'; known keys: ${configKeys().join(', ')}`],
    ['compress = rar', "f:1: invalid compress 'rar'; expected one of: zstd, gzip, xz, lz4, none"],
    ['compress = "xz', "f:1: invalid compress '\"xz'"],
    ['add = a\ncompress += xz', "f:2: '+=' needs a list key; compress takes one value"],
    ['ucode =', 'f:1: ucode needs a value'],
    ['ucode = ""', 'f:1: ucode needs a value'],
    ['no-ucode = maybe', "f:1: invalid no-ucode 'maybe'; expected one of: yes, true, 1, on, no, false, 0, off"],
  ])('%p is an error naming file and line', (text, message) => {
    expect(() => parseConfig(text, 'f')).toThrow(UserError);
    expect(() => parseConfig(text, 'f')).toThrow(message);
  });
});

describe('buildRequest', () => {
  test.each([
    [undefined, 0], ['0', 0], ['1700000000', 1700000000], ['007', 7],
  ] as [string | undefined, number][])('SOURCE_DATE_EPOCH %p is mtime %p', (epoch, mtime) => {
    expect(buildRequest({ out: 'o' }, {}, { SOURCE_DATE_EPOCH: epoch }).mtime).toBe(mtime);
  });
  test.each(['', '-1', '1.5', ' 1', '1 ', '1e3', 'x'])('SOURCE_DATE_EPOCH %p is refused', (epoch) => {
    expect(() => buildRequest({ out: 'o' }, {}, { SOURCE_DATE_EPOCH: epoch })).toThrow(
      new UserError(`SOURCE_DATE_EPOCH must be a number of seconds, got '${epoch}'`),
    );
  });
  test('the defaults, without a second stage', () => {
    expect(buildRequest({ out: 'img' }, {}, {})).toMatchObject({
      out: 'img', base: '/', kernel: undefined, force: false, dryRun: false, compress: 'zstd', secondStage: 'none',
      placement: 'embedded', secondStageOut: 'img.stage2', modules: { defaults: [...DEFAULT_MODULES], modules: undefined, add: [], omit: [] },
      ucode: undefined, mtime: 0,
    });
  });
  test.each([
    ['embedded', 'squash'], ['boot', 'storage-init'],
  ])('a second stage placed %s adds the %s module to the defaults', (placement, module) => {
    const r = buildRequest({ out: 'o', secondStage: 'erofs', secondStagePlacement: placement }, {}, {});
    expect(r.modules.defaults).toEqual([...DEFAULT_MODULES, module]);
    expect(DEFAULT_MODULES).not.toContain(module);
  });
  test('--modules replaces, --second-stage-out is taken as given, no-ucode is false', () => {
    const r = buildRequest({ out: 'o', modules: ['base,kmod'], secondStageOut: '/boot/s2', noUcode: true }, { ucode: '/u' }, {});
    expect([r.modules.modules, r.secondStageOut, r.ucode]).toEqual([['base', 'kmod'], '/boot/s2', false]);
  });
});

describe('option table helpers', () => {
  test('mergeOptions checks choices for callers other than the CLI, lists item by item', () => {
    expect(() => mergeOptions({ compress: 'rar' }, {})).toThrow(new UserError("invalid --compress 'rar'; expected one of: zstd, gzip, xz, lz4, none"));
    expect(() => mergeOptions({}, { secondStage: 'ext4' })).toThrow("invalid --second-stage 'ext4'");
    expect(mergeOptions({}, {})).toEqual({});
  });
  test('mergeOptions: an unset flag leaves the file value; append lists without flags keep the file items', () => {
    expect(mergeOptions({ add: undefined }, { add: ['a'], compress: 'xz' })).toEqual({ add: ['a'], compress: 'xz' });
    expect(mergeOptions({ add: ['b, c'] }, {})).toEqual({ add: ['b', 'c'] });
    expect(mergeOptions({ noUcode: false }, { ucode: 'u' })).toEqual({ noUcode: false, ucode: 'u' });
    expect(mergeOptions({ ucode: 'f' }, { noUcode: true })).toEqual({ ucode: 'f' });
  });
  test('withDefaults: copies of the table lists, given values win, undefined does not', () => {
    const a = withDefaults({});
    a.modules.push('mutated');
    expect(withDefaults({}).modules).toEqual(['base', 'kmod', 'rootfs', 'overlay']);
    expect(withDefaults({ compress: 'xz', base: undefined })).toMatchObject({ compress: 'xz', base: '/' });
  });
  test('small helpers', () => {
    expect(optionField('second-stage-placement')).toBe('secondStagePlacement');
    expect(optionField('base')).toBe('base');
    expect(splitList(['a, b', ' c ', '', 'd,,e'])).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(splitList(undefined)).toBeUndefined();
    expect(findOption('compress')?.default).toBe('zstd');
    expect(findOption('nope')).toBeUndefined();
    expect(findConfigKey('second-stage')?.name).toBe('second-stage');
    expect(findConfigKey('second-stage-out')).toBeUndefined();
    const compress = findOption('compress')!;
    expect([isChoice(compress, 'xz'), isChoice(compress, 'rar'), isChoice(compress, ['xz', 'gzip']), isChoice(compress, ['xz', 'rar'])]).toEqual([
      true, false, true, false,
    ]);
    expect(isChoice(findOption('base')!, 'anything')).toBe(true);
  });
  test('defaultText: the computed text, a value in code, a list joined, nothing for false or empty', () => {
    expect(defaultText(findOption('compress')!)).toBe('`zstd`');
    expect(defaultText(findOption('modules')!)).toBe('`base kmod rootfs overlay`');
    expect(defaultText(findOption('add')!)).toBeUndefined();
    expect(defaultText(findOption('force')!)).toBeUndefined();
    expect(defaultText(findOption('no-ucode')!)).toBeUndefined();
    expect(defaultText(findOption('second-stage-out')!)).toBe('`OUT.stage2`');
    expect(defaultText({ name: 'x', type: 'boolean', default: true, help: '' })).toBe('`true`');
  });
});

describe('config quoting is whole-value only', () => {
  test.each([
    ['ucode = x"y"', 'x"y"'], ['ucode = "x"y', '"x"y'], ["ucode = x'y'", "x'y'"], ["ucode = 'x'y", "'x'y"], ['ucode = ""x""', '"x"'],
  ])('%p', (text, want) => expect(parseConfig(text, 'f')).toEqual({ ucode: want }));
});
