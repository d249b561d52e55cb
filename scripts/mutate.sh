#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Mutation testing for the boot shell (templates/, modules/*/): applies each one-line mutation of
# test/mutations.tsv alone, runs the tests named beside it, and reports the mutants the tests let
# live. A surviving mutant is a behaviour no test observes. The file is restored after each run.
#
#   scripts/mutate.sh            every mutation (QEMU boots: ~20-30 minutes)
#   scripts/mutate.sh WORD       only the lines whose file, tests or filter contain WORD
#
# test/mutations.tsv: FILE<TAB>FROM<TAB>TO<TAB>TEST FILES<TAB>TEST NAME FILTER (-t); FROM is
# literal text, its first occurrence becomes TO. TO is never empty (read collapses adjacent tabs):
# `:` stands for a removed command.
set -eu
cd "$(dirname "$0")/.."
PATH="$PWD/node_modules/.bin:$PATH"
export PATH
LIST=test/mutations.tsv
LOG=${TMPDIR:-/tmp}/mkruckus-mutate.log
tab=$(printf '\t')
killed=0
survived=0
survivors=
current=

restore() {
	[ -n "$current" ] && [ -f "$current.mutate-orig" ] && mv "$current.mutate-orig" "$current"
	current=
}
trap 'restore; exit 130' INT TERM HUP

# mutate FILE: FROM's first occurrence becomes TO (both from the environment); fails when absent.
mutate() {
	awk 'BEGIN { f = ENVIRON["FROM"]; t = ENVIRON["TO"] }
	!done && (i = index($0, f)) > 0 { $0 = substr($0, 1, i - 1) t substr($0, i + length(f)); done = 1 }
	{ print }
	END { exit done ? 0 : 3 }' "$1.mutate-orig" > "$1"
}

: > "$LOG"
n=0
while IFS="$tab" read -r file from to tests filter; do
	case $file in '' | '#'*) continue ;; esac
	if [ -n "${1:-}" ]; then
		case "$file $tests $filter" in *"$1"*) ;; *) continue ;; esac
	fi
	n=$((n + 1))
	current=$file
	cp -p "$file" "$file.mutate-orig"
	if ! FROM=$from TO=$to mutate "$file"; then
		restore
		echo "mutate: $file does not contain: $from" >&2
		exit 2
	fi
	printf '%3d %s: %s -> %s ... ' "$n" "$file" "$from" "$to"
	echo "=== $n $file: $from -> $to ($tests -t $filter)" >> "$LOG"
	# shellcheck disable=SC2086 # TESTS is a list of files
	if bun test --timeout 1800000 $tests -t "$filter" < /dev/null >> "$LOG" 2>&1; then
		echo SURVIVED
		survived=$((survived + 1))
		survivors="$survivors
  $file: $from -> $to ($tests -t $filter)"
	else
		echo killed
		killed=$((killed + 1))
	fi
	restore
done < "$LIST"

echo "mutants: $((killed + survived)), killed: $killed, survived: $survived (log: $LOG)"
[ "$survived" = 0 ] || { printf 'survivors:%s\n' "$survivors"; exit 1; }
