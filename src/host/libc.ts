// SPDX-License-Identifier: GPL-2.0-or-later
// The few C library calls Bun has no binding for (flock, ioctl), through bun:ffi, loaded once.
import { dlopen, FFIType, ptr } from 'bun:ffi';
import { closeSync, openSync } from 'node:fs';
import { UserError } from '../log.ts';

const LIBCS = ['libc.so.6', 'libc.musl-x86_64.so.1', 'libc.musl-aarch64.so.1'];

interface Libc {
  flock(fd: number, op: number): number;
  ioctl(fd: number, request: number, arg: ReturnType<typeof ptr>): number;
}
let libc: Libc | undefined;

function loadLibc(): Libc {
  if (libc) return libc;
  for (const name of LIBCS) {
    try {
      const lib = dlopen(name, {
        flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
        ioctl: { args: [FFIType.i32, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
      });
      libc = { flock: (fd, op) => lib.symbols.flock(fd, op), ioctl: (fd, req, arg) => lib.symbols.ioctl(fd, req, arg) };
      return libc;
    } catch {
      // the next C library name
    }
  }
  throw new UserError(`cannot load the C library (tried ${LIBCS.join(', ')})`);
}

export function flock(fd: number, op: number): number {
  return loadLibc().flock(fd, op);
}

/** FS_IOC_GETFLAGS (_IOR('f', 1, long)) and the flags of chattr(1) it reports. */
const FS_IOC_GETFLAGS = 0x80086601;
export const FS_IMMUTABLE_FL = 0x10;
export const FS_APPEND_FL = 0x20;

/** The inode flags chattr(1) sets (+a, +i, …); undefined where the filesystem has none or it cannot be asked. */
export function readInodeFlags(path: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const flags = new Int32Array(2);
    return loadLibc().ioctl(fd, FS_IOC_GETFLAGS, ptr(flags)) === 0 ? flags[0] : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
