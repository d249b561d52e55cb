// SPDX-License-Identifier: GPL-2.0-or-later
// The few C library calls Bun has no binding for (flock, ioctl, a read-only mmap), through bun:ffi, loaded once.
import { dlopen, FFIType, ptr, toArrayBuffer } from 'bun:ffi';
import { closeSync, openSync } from 'node:fs';
import { UserError } from '../log.ts';

const LIBCS = ['libc.so.6', 'libc.musl-x86_64.so.1', 'libc.musl-aarch64.so.1'];

interface Libc {
  flock(fd: number, op: number): number;
  ioctl(fd: number, request: number, arg: ReturnType<typeof ptr>): number;
  mmap(addr: null, length: number, prot: number, flags: number, fd: number, offset: number): number | null;
}
let libc: Libc | undefined;

function loadLibc(): Libc {
  if (libc) return libc;
  for (const name of LIBCS) {
    try {
      const lib = dlopen(name, {
        flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
        ioctl: { args: [FFIType.i32, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
        mmap: { args: [FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.i32, FFIType.i32, FFIType.i64], returns: FFIType.ptr },
      });
      libc = {
        flock: (fd, op) => lib.symbols.flock(fd, op),
        ioctl: (fd, req, arg) => lib.symbols.ioctl(fd, req, arg),
        mmap: (addr, len, prot, flags, fd, off) => lib.symbols.mmap(addr, len, prot, flags, fd, off) as number | null,
      };
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

const PROT_READ = 1;
const MAP_PRIVATE = 2;

/**
 * The first `size` bytes of an open file mapped read-only and private (the page cache's pages, no
 * copy), or undefined when it cannot be mapped (no C library, size 0, mmap refused): the caller
 * reads instead. Unlike Bun.mmap, which opens the file read-write (a program or module held open for
 * writing cannot be run or loaded meanwhile: ETXTBSY), this maps the descriptor the caller opened
 * read-only. The mapping lives as long as the process (an image build is one process, ~50 MiB of
 * address space); the bytes must never be written (a write is a SIGSEGV), and a file truncated
 * under the mapping makes reading past its new end a SIGBUS, which is why only the build's own
 * reads of files it does not change use it.
 */
export function mapReadOnly(fd: number, size: number): Uint8Array | undefined {
  if (size <= 0) return undefined;
  try {
    const at = loadLibc().mmap(null, size, PROT_READ, MAP_PRIVATE, fd, 0);
    // MAP_FAILED is (void *)-1, which a JS number shows as 2^64
    if (!at || at >= 2 ** 63) return undefined;
    return new Uint8Array(toArrayBuffer(at, 0, size));
  } catch {
    return undefined;
  }
}
