// SPDX-License-Identifier: GPL-2.0-or-later
// Logging, step timing and the one error type that reaches the user as a single line.

/** An error caused by the user's input or environment: printed as one line, no stack trace. */
export class UserError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    // One line whatever it quotes: a value with a newline or ESC must not forge lines or drive the
    // terminal, and a huge value must not become a huge line.
    super(printable(message, MESSAGE_MAX));
    this.name = 'UserError';
  }
}

const MESSAGE_MAX = 4096;

/**
 * `text` fit for one line of a terminal: control characters (C0, DEL, C1) as `\xNN`, and beyond
 * `max` characters cut with `…` and the full length in bytes, so the user still learns the size.
 */
export function printable(text: string, max = 80): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  const escaped = cut.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return text.length > max ? `${escaped} (${Buffer.byteLength(text)} bytes)` : escaped;
}

/** `text` in single quotes for an error line: escaped, and cut after `max` characters with its size. */
export function quoted(text: string, max = 80): string {
  if (text.length <= max) return `'${printable(text, max)}'`;
  return `'${printable(text.slice(0, max), max)}…' (${Buffer.byteLength(text)} bytes)`;
}

const ERRNO_WORDS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only filesystem',
  ENOENT: 'directory does not exist',
  ENOTDIR: 'a component of the path is not a directory',
  EISDIR: 'it is a directory',
  ENAMETOOLONG: 'the name is too long',
  EPIPE: 'the reader went away',
  ELOOP: 'too many levels of symbolic links',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
};

/** Words for a system error (`ENOSPC` → `no space left on device`); undefined when it is not one we know. */
export function errnoWords(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code ? ERRNO_WORDS[code] : undefined;
}

let verbose = false;
export function setVerbose(on: boolean): void {
  verbose = on;
}
export function isVerbose(): boolean {
  return verbose;
}

export function info(msg: string): void {
  process.stderr.write(`mkruckus: ${msg}\n`);
}
export function debug(msg: string): void {
  if (verbose) process.stderr.write(`mkruckus: ${msg}\n`);
}
export function warn(msg: string): void {
  process.stderr.write(`mkruckus: warning: ${msg}\n`);
}

/** Runs one named build step; with --verbose it reports how long the step took. */
/** Every step's time, in order, for the build report (--report). */
export const stepTimes: { step: string; ms: number }[] = [];

export async function step<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await fn();
  const ms = performance.now() - start;
  stepTimes.push({ step: name, ms: Math.round(ms * 10) / 10 });
  debug(`${name}: ${ms.toFixed(1)} ms`);
  return result;
}
