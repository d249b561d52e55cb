// SPDX-License-Identifier: GPL-2.0-or-later
// One changed bit in a file, in place: what the verity and integrity tests alter to be refused.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';

export function flipByte(file: string, offset: number): void {
  const fd = openSync(file, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, offset);
  b[0] = b[0]! ^ 0x01;
  writeSync(fd, b, 0, 1, offset);
  closeSync(fd);
}
