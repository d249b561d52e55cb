// SPDX-License-Identifier: GPL-2.0-or-later
// Parses /etc/ld.so.conf the way ldconfig does. We read the text files rather than
// /etc/ld.so.cache because the cache is a binary, glibc-version-specific format and may be
// stale or absent in a --base tree; the directories it would list come from these files.

export interface LdConfIo {
  /** Expands a glob (absolute pattern) to matching file paths; order does not matter. */
  glob(pattern: string): string[];
  /** Returns the file's text, or undefined if it cannot be read (ldconfig skips those). */
  read(path: string): string | undefined;
}

/**
 * Returns library directories in the order ld.so.conf lists them, following `include` lines.
 * `path` is the file's own path: relative include patterns are taken relative to its directory.
 */
export function parseLdSoConf(text: string, path: string, io: LdConfIo): string[] {
  const dirs: string[] = [];
  walkConf(text, path, io, dirs, new Set([path]));
  return [...new Set(dirs)];
}

function walkConf(text: string, path: string, io: LdConfIo, dirs: string[], seen: Set<string>): void {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const words = line.split(/\s+/);
    if (words[0] === 'include' && words.length > 1) {
      for (const pattern of words.slice(1)) includeFiles(pattern, path, io, dirs, seen);
    } else if (words[0] === 'hwcap') {
      // Obsolete directive; glibc 2.37+ ignores it and it never named a plain directory.
      continue;
    } else {
      dirs.push(...parseDirLine(line));
    }
  }
}

function includeFiles(pattern: string, from: string, io: LdConfIo, dirs: string[], seen: Set<string>): void {
  const absolute = pattern.startsWith('/') ? pattern : `${dirname(from)}/${pattern}`;
  // glob(3), which ldconfig uses, returns names sorted; the order decides search precedence.
  for (const file of io.glob(absolute).sort()) {
    if (seen.has(file)) continue; // an include cycle would otherwise recurse forever
    seen.add(file);
    const text = io.read(file);
    if (text !== undefined) walkConf(text, file, io, dirs, seen);
  }
}

/** One directory per line, as glibc's ldconfig reads it; relative paths are ignored there too. */
function parseDirLine(line: string): string[] {
  const dir = line.length > 1 ? line.replace(/\/+$/, '') : line;
  return dir.startsWith('/') ? [dir] : [];
}

function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** Converts one glob path component (`*`, `?`, `[...]`) to an anchored RegExp. */
export function globToRegExp(component: string): RegExp {
  let re = '';
  for (let i = 0; i < component.length; i++) {
    const c = component[i] as string;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = component.indexOf(']', component[i + 1] === '!' ? i + 3 : i + 2);
      if (end < 0) re += '\\[';
      else {
        // a `]` right after `[` or `[!` is a member, as glob(3) has it; in a RegExp class it must be escaped
        const body = component.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\').replace(/]/g, '\\]');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export function hasGlobMagic(component: string): boolean {
  return /[*?[]/.test(component);
}
