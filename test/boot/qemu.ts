// SPDX-License-Identifier: GPL-2.0-or-later
// The one QEMU wrapper of the suite: TCG only (no KVM here), serial console on a pipe, a hard
// wall-clock kill, and the kernel command line always carrying console/panic settings so a
// kernel panic ends the VM instead of hanging it.
import { existsSync, readdirSync } from 'node:fs';

export const QEMU = '/usr/bin/qemu-system-x86_64';

/** The newest Debian kernel installed, with its modules (what the images are built for). */
export function findKernel(): { version: string; vmlinuz: string } | undefined {
  let versions: string[] = [];
  try {
    versions = readdirSync('/lib/modules').filter((v) => existsSync(`/boot/vmlinuz-${v}`));
  } catch {
    return undefined;
  }
  // Numeric order: 6.1.0-56 is newer than 6.1.0-9, 6.12 than 6.1.
  const version = versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1);
  return version ? { version, vmlinuz: `/boot/vmlinuz-${version}` } : undefined;
}

export const haveQemu = existsSync(QEMU);
export const kernel = findKernel();
/**
 * Boot tests run when QEMU and a kernel exist. On CI their absence is a failure; elsewhere every
 * boot test is reported as skipped (bun counts them) and the reason is printed once.
 */
export const canBoot = haveQemu && kernel !== undefined;
if (!canBoot) {
  const why = `boot tests need ${QEMU} (qemu-system-x86) and a kernel in /boot with its modules (linux-image-amd64)`;
  if (process.env.CI === 'true') throw new Error(`CI: ${why}`);
  console.warn(`SKIPPING every QEMU test: ${why}`);
}

/** The first fatal line of /init; a boot that is not waiting to type into its rescue shell stops there. */
export const FATAL = /ruckusrd: fatal: [^\n]*\n/;
/** After a fatal line, how long the rest of the console (the rescue shell's prompt) may take. */
const FATAL_GRACE_MS = 3000;

export interface BootOptions {
  /** the initramfs given to -kernel (unused with `firmware`) */
  initrd: string;
  /** the command line after the fixed console/panic settings (unused with `firmware`: a UKI carries its own) */
  append: string;
  /**
   * Boot through OVMF instead of -kernel/-initrd: `esp` (a FAT image holding \EFI\BOOT\BOOTX64.EFI)
   * is the first disk; `vars` is written by the firmware, so give each boot its own copy. Secure Boot
   * needs the secboot `code`, SMM and a secure flash, as QEMU documents.
   */
  firmware?: { code: string; vars: string; esp: string; secureBoot?: boolean };
  /** the kernel image (default: the host's newest, `kernel`) */
  vmlinuz?: string;
  /** `iface`: virtio (default) or a SATA disk on an AHCI controller */
  disks?: { file: string; readonly?: boolean; format?: 'raw'; iface?: 'virtio' | 'ahci' }[];
  /** stop as soon as this appears on the console (the VM is then killed) */
  until?: RegExp;
  /**
   * typed on the console in order, each once its `when` appears after the previous one; `delayMs`
   * waits first (a reader that flushes pending input after its prompt, as util-linux sulogin does)
   */
  interact?: { when: RegExp; text: string; delayMs?: number }[];
  timeoutMs?: number;
  memoryMB?: number;
  /** QEMU's -cpu (default qemu64, without the SSE4.2 and POPCNT the compiled Bun binary needs: `max`) */
  cpu?: string;
  /**
   * The QEMU monitor on the serial line too (`-serial mon:stdio`): typing Ctrl-A c switches between
   * them, so `interact` can send `sendkey` commands to the emulated PS/2 keyboard (the VT's input).
   */
  monitor?: boolean;
  /** more QEMU arguments, e.g. the benchmarks' `-icount` (virtual time by instructions executed, not the host's load) */
  qemuArgs?: string[];
}

export interface BootResult {
  console: string;
  /** the first `ruckusrd: fatal:` line, if any */
  fatal?: string;
  timedOut: boolean;
  exitCode: number | null;
}

export async function boot(opts: BootOptions): Promise<BootResult> {
  if (!kernel) throw new Error('no kernel to boot');
  const argv = [
    QEMU, '-nodefaults', '-display', 'none', '-no-reboot', '-accel', 'tcg',
    '-m', String(opts.memoryMB ?? 512), '-smp', '1', '-serial', opts.monitor ? 'mon:stdio' : 'stdio', '-monitor', 'none',
    ...(opts.cpu ? ['-cpu', opts.cpu] : []),
    // no_timer_check: under a loaded TCG host the IO-APIC timer check can fail and panic the kernel before /init runs.
    ...(opts.firmware ? firmwareArgs(opts.firmware) : [
      '-kernel', opts.vmlinuz ?? kernel.vmlinuz, '-initrd', opts.initrd,
      '-append', `console=ttyS0 panic=-1 oops=panic loglevel=4 no_timer_check ${opts.append}`,
    ]),
    ...((opts.disks ?? []).some((d) => d.iface === 'ahci') ? ['-device', 'ahci,id=ahci'] : []),
    ...(opts.disks ?? []).flatMap((d, i) => d.iface === 'ahci'
      ? ['-drive', `if=none,id=d${i},format=raw,file=${d.file}${d.readonly ? ',readonly=on' : ''}`, '-device', `ide-hd,drive=d${i},bus=ahci.${i}`]
      : ['-drive', `file=${d.file},format=raw,if=virtio${d.readonly ? ',readonly=on' : ''}`]),
    ...(opts.qemuArgs ?? []),
  ];
  const proc = Bun.spawn(argv, { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' });
  let output = '';
  const pending = [...(opts.interact ?? [])];
  let seenUpTo = 0;
  let timedOut = false;
  let fatalSeen = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill('SIGKILL');
  }, opts.timeoutMs ?? 120_000);
  // Unless the test still has something to type (the rescue shell is then part of the test), a
  // fatal line ends the boot after a short grace instead of the full timeout.
  const stopAfterFatal = () => {
    if (fatalSeen || !FATAL.test(output) || pending.length > 0) return;
    fatalSeen = true;
    setTimeout(() => proc.kill('SIGKILL'), FATAL_GRACE_MS);
  };
  const decoder = new TextDecoder();
  for await (const chunk of proc.stdout) {
    output += decoder.decode(chunk, { stream: true });
    const next = pending[0];
    const match = next && next.when.exec(output.slice(seenUpTo));
    if (next && match) {
      seenUpTo += match.index + match[0].length;
      pending.shift();
      const type = () => {
        proc.stdin.write(next.text);
        proc.stdin.flush();
      };
      if (next.delayMs) setTimeout(type, next.delayMs);
      else type();
    }
    if (opts.until?.test(output)) {
      proc.kill('SIGKILL');
      break;
    }
    stopAfterFatal();
  }
  const exitCode = await proc.exited;
  clearTimeout(timer);
  output += await new Response(proc.stderr).text().catch(() => '');
  const text = output.replaceAll('\r', '');
  return { console: text, fatal: FATAL.exec(text)?.[0].trim(), timedOut, exitCode };
}

function firmwareArgs(fw: NonNullable<BootOptions['firmware']>): string[] {
  const secure = fw.secureBoot ? ['-machine', 'q35,smm=on', '-global', 'driver=cfi.pflash01,property=secure,value=on'] : ['-machine', 'q35'];
  return [
    ...secure,
    '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${fw.code}`,
    '-drive', `if=pflash,format=raw,unit=1,file=${fw.vars}`,
    '-drive', `file=${fw.esp},format=raw,if=virtio`,
  ];
}

/** Text between `=== NAME` and the next `=== ` line printed by the guest init. */
export function section(consoleText: string, name: string): string {
  const start = consoleText.indexOf(`=== ${name}\n`);
  if (start < 0) return '';
  const rest = consoleText.slice(start + name.length + 5);
  const end = rest.indexOf('=== ');
  return end < 0 ? rest : rest.slice(0, end);
}
