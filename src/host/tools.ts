// SPDX-License-Identifier: GPL-2.0-or-later
// The one place that spawns host tools (zx, argument arrays only: no shell strings).
import { $ } from 'zx';

/** Runs argv and returns stdout; never throws (a probe). */
export async function probeTool(argv: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  // Probes stay quiet even with --verbose: their output is data (300 applet names, say).
  const result = await $({ nothrow: true, quiet: true, verbose: false })`${argv}`;
  return { ok: result.exitCode === 0, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Runs a filesystem maker with times given as flags. SOURCE_DATE_EPOCH is taken out of its
 * environment: mksquashfs refuses it together with -mkfs-time/-all-time.
 */
export async function runMkfs(argv: string[]): Promise<{ ok: boolean; stderr: string }> {
  const { SOURCE_DATE_EPOCH: _epoch, ...env } = process.env;
  const result = await $({ nothrow: true, quiet: true, verbose: false, env })`${argv}`;
  return { ok: result.exitCode === 0, stderr: result.stderr.trim() || result.stdout.trim() };
}

/** Applet paths of a busybox binary (`busybox --list-full`), as absolute image paths. */
export async function listBusyboxApplets(busyboxHostPath: string): Promise<string[]> {
  const { ok, stdout } = await probeTool([busyboxHostPath, '--list-full']);
  if (!ok) return [];
  return stdout
    .split('\n')
    .filter((line) => line && line !== 'linuxrc')
    .map((line) => '/' + line.replace(/^\/+/, ''));
}
