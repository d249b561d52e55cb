// SPDX-License-Identifier: GPL-2.0-or-later
// The one place that spawns host tools: argument arrays straight to exec, never through a shell
// (zx ran every command through bash, so a machine without bash silently lost every probe), and
// the check, before any work, that each tool a build needs is installed.
import type { BuildRequest } from '../core/request.ts';
import { UserError } from '../log.ts';
import { killOnSignal } from './scratch.ts';

async function runArgv(argv: string[], env?: Record<string, string | undefined>): Promise<{ code: number; stdout: string; stderr: string }> {
  let proc;
  try {
    proc = Bun.spawn(argv, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', ...(env ? { env } : {}) });
  } catch (err) {
    return { code: 127, stdout: '', stderr: `${argv[0]}: ${(err as Error).message}` };
  }
  const release = killOnSignal(proc);
  try {
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, stdout, stderr };
  } finally {
    release();
  }
}

/** Runs argv and returns stdout; never throws (a probe). */
export async function probeTool(argv: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const r = await runArgv(argv);
  return { ok: r.code === 0, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs a filesystem maker with times given as flags. SOURCE_DATE_EPOCH is taken out of its
 * environment: mksquashfs refuses it together with -mkfs-time/-all-time.
 */
export async function runMkfs(argv: string[]): Promise<{ ok: boolean; stderr: string }> {
  const { SOURCE_DATE_EPOCH: _epoch, ...env } = process.env;
  const r = await runArgv(argv, env);
  return { ok: r.code === 0, stderr: r.stderr.trim() || r.stdout.trim() };
}

/** A host tool and the Debian package that ships it. */
export interface HostTool {
  tool: string;
  pkg: string;
  why: string;
}

/** The external tools this request needs (the base's tools are never run; these are the host's). */
export function requiredTools(req: BuildRequest): HostTool[] {
  const tools: HostTool[] = [];
  if (req.compress === 'xz') tools.push({ tool: 'xz', pkg: 'xz-utils', why: '--compress xz' });
  if (req.compress === 'lz4') tools.push({ tool: 'lz4', pkg: 'lz4', why: '--compress lz4' });
  if (req.secondStage === 'squashfs') tools.push({ tool: 'mksquashfs', pkg: 'squashfs-tools', why: '--second-stage squashfs' });
  if (req.secondStage === 'erofs') tools.push({ tool: 'mkfs.erofs', pkg: 'erofs-utils', why: '--second-stage erofs' });
  if (req.secondStage !== 'none' && req.placement === 'boot' && req.secondStageBoot.dev === undefined) {
    tools.push({ tool: 'findmnt', pkg: 'util-linux', why: 'finding the device of the /boot second stage' });
  }
  return tools;
}

/** One line naming the first missing tool and its package, before any work is done. */
export function checkTools(tools: readonly HostTool[], which: (tool: string) => string | null = (t) => Bun.which(t)): void {
  for (const t of tools) {
    if (!which(t.tool)) throw new UserError(`${t.tool} is needed for ${t.why} but is not installed (Debian package ${t.pkg})`);
  }
}
