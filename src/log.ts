// SPDX-License-Identifier: GPL-2.0-or-later
// Logging, step timing and the one error type that reaches the user as a single line.

/** An error caused by the user's input or environment: printed as one line, no stack trace. */
export class UserError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'UserError';
  }
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
