// SPDX-License-Identifier: GPL-2.0-or-later
// POSIX single-quote quoting for data we write into files read by boot-time shell.
// zx's quote() targets bash ($'...'), which busybox sh and dash do not all read the same way.

export function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
