// SPDX-License-Identifier: GPL-2.0-or-later
// src/host/output.ts, the atomic write, in a child process that signals itself while its temp file
// exists: the only moment the cleanup handler matters. No timing: the chunk source sends the signal
// and then waits, so the handler runs with the temp file half written, every time.
import { describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomic, writeChunks } from '../../src/host/output.ts';
import { tempDir } from '../temp-dirs.ts';

const OUTPUT_TS = join(import.meta.dir, '../../src/host/output.ts');
const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

function writerScript(signal: string): string {
  return `
import { writeAtomic } from ${JSON.stringify(OUTPUT_TS)};
async function* chunks() {
  yield new Uint8Array(1 << 20).fill(0x61);
  process.kill(process.pid, ${JSON.stringify(signal)});
  await Bun.sleep(20_000);
  yield new Uint8Array(1);
}
await writeAtomic(process.argv[2], chunks(), 0o644);
console.log('the write finished');
`;
}

const freshDir = () => tempDir('output');

describe('writeAtomic', () => {
  test.each(Object.keys(SIGNALS))('%s while the temp file is written: temp removed, previous OUT intact', (signal) => {
    const dir = freshDir();
    writeFileSync(join(dir, 'writer.ts'), writerScript(signal));
    writeFileSync(join(dir, 'out.img'), 'previous image\n');
    const p = Bun.spawnSync([process.execPath, join(dir, 'writer.ts'), join(dir, 'out.img')], { stdout: 'pipe', stderr: 'pipe' });
    expect(p.stdout.toString()).not.toContain('the write finished');
    expect(p.exitCode).toBe(128 + SIGNALS[signal as keyof typeof SIGNALS]);
    expect(readFileSync(join(dir, 'out.img'), 'utf8')).toBe('previous image\n');
    expect(readdirSync(dir).sort()).toEqual(['out.img', 'writer.ts']);
  });

  test('writes every chunk, with the mode given, and leaves no temp file', async () => {
    const dir = freshDir();
    const out = join(dir, 'out.img');
    await writeAtomic(out, [new TextEncoder().encode('ab'), new Uint8Array(0), new TextEncoder().encode('c')], 0o640);
    expect(readFileSync(out, 'utf8')).toBe('abc');
    expect(statSync(out).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir)).toEqual(['out.img']);
  });

  test("a dead build's temp file is removed (ours too: the pid was reused); a live one's is not", async () => {
    const dir = freshDir();
    const live = '.out.img.mkruckus-1.tmp';
    for (const pid of ['999999999', String(process.pid), '1']) writeFileSync(join(dir, `.out.img.mkruckus-${pid}.tmp`), pid);
    await writeAtomic(join(dir, 'out.img'), [new Uint8Array([1])]);
    expect(readdirSync(dir).sort()).toEqual([live, 'out.img']);
  });

  test('more chunks than one writev takes (IOV_MAX), of every size, arrive whole and in order', async () => {
    const dir = freshDir();
    const chunks = Array.from({ length: 2500 }, (_, i) => new Uint8Array(i % 7 === 0 ? 0 : (i * 37) % 5000).fill(i & 0xff));
    await writeAtomic(join(dir, 'out.img'), chunks);
    expect(Buffer.compare(readFileSync(join(dir, 'out.img')), Buffer.concat(chunks))).toBe(0);
  });
});

describe('writeChunks', () => {
  test('a short writev (as a full disk or a signal makes) goes on where it stopped', async () => {
    const written: number[] = [];
    let calls = 0;
    // at most 1000 bytes per call, cut anywhere: inside a chunk as well as between two
    const file = {
      writev: async (bufs: Uint8Array[]) => {
        calls++;
        let room = 1000;
        for (const b of bufs) {
          const n = Math.min(room, b.length);
          written.push(...b.subarray(0, n));
          room -= n;
          if (!room) break;
        }
        return { bytesWritten: 1000 - room, buffers: bufs };
      },
    };
    const chunks = Array.from({ length: 3000 }, (_, i) => new Uint8Array((i * 13) % 900).fill(i & 0xff));
    await writeChunks(file, chunks);
    expect(Buffer.compare(Buffer.from(written), Buffer.concat(chunks))).toBe(0);
    expect(calls).toBeGreaterThan(3);
  });
});
