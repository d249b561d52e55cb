# SPDX-License-Identifier: GPL-2.0-or-later
# Kernel modules from the table the build wrote for exactly the modules in the image
# (/lib/modules/KVER/ruckusrd, src/core/boot-kmod-table.ts): alias/BUCKET holds `case` lines that
# name the modules a device modalias wants, dep/NAME the `name path` pairs to insmod, dependencies
# first. Each device is matched once, with builtins only; one insmod per module that is not yet
# loaded. What the table does not know (an alias, a built-in without /sys/module) goes to modprobe.

read -r KMOD_KVER < /proc/sys/kernel/osrelease
KMOD_DIR=/lib/modules/$KMOD_KVER
KMOD_TABLE=$KMOD_DIR/ruckusrd
# Where sysfs is (test/shell sets a fake one).
KMOD_SYS=/sys
# Space-separated: modaliases matched so far; modules they want, not yet tried; modules never to
# load by alias (blacklist=) or tried already.
KMOD_SEEN=
KMOD_WANT=
KMOD_SKIP=
KMOD_ALIAS=

# kmod_words LIST: sets REPLY to the comma-separated LIST, space-separated (by IFS, no fork).
kmod_words() {
	_kw_ifs=$IFS
	IFS=,
	REPLY=
	for _kw in $1; do REPLY="$REPLY $_kw"; done
	IFS=$_kw_ifs
}

# kmod_found NAME: called by the table's case lines for the alias being matched.
kmod_found() {
	case " $KMOD_SKIP $KMOD_WANT " in *" $1 "*) return 0 ;; esac
	KMOD_WANT="$KMOD_WANT $1"
}

# kmod_buckets MODALIAS: sets KMOD_ALIAS to it as modprobe compares it (kmod's alias_normalize reads
# `-` as `_`; device aliases rarely have one) and REPLY to the table buckets it may be in.
kmod_buckets() {
	KMOD_ALIAS=$1
	while :; do
		case $KMOD_ALIAS in *-*) KMOD_ALIAS=${KMOD_ALIAS%%-*}_${KMOD_ALIAS#*-} ;; *) break ;; esac
	done
	case $KMOD_ALIAS in
	pci:v*) _kb_rest=${KMOD_ALIAS#pci:v????????} ;;
	usb:v*) _kb_rest=${KMOD_ALIAS#usb:v????} ;;
	*) _kb_rest=$KMOD_ALIAS ;;
	esac
	REPLY="${KMOD_ALIAS%"$_kb_rest"} ${KMOD_ALIAS%%:*} _any"
}

# kmod_match MODALIAS...: adds the modules whose patterns match. Each bucket file (a function of
# case lines) is sourced once, then called for the aliases that may be in it.
kmod_match() {
	_km_all=
	for _km_a; do
		kmod_buckets "$_km_a"
		for _km_b in $REPLY; do
			case $_km_b in *[!A-Za-z0-9_:]*) continue ;; esac
			case " $_km_all " in *" $_km_b "*) continue ;; esac
			[ -f "$KMOD_TABLE/alias/$_km_b" ] && _km_all="$_km_all $_km_b"
		done
	done
	for _km_b in $_km_all; do
		# shellcheck disable=SC1090 # generated at build time
		. "$KMOD_TABLE/alias/$_km_b"
		for _km_a; do
			kmod_buckets "$_km_a"
			case " $REPLY " in *" $_km_b "*) kmod_bucket ;; esac
		done
	done
	return 0
}

# kmod_insmod NAME: loads NAME and what it needs, in order, skipping what is loaded; fails when
# NAME is not in the table or a module of its chain does not load.
kmod_insmod() {
	[ -d "$KMOD_SYS/module/$1" ] && return 0
	[ -f "$KMOD_TABLE/dep/$1" ] || return 1
	read -r _ki_line < "$KMOD_TABLE/dep/$1" || return 1
	_ki_name=
	_ki_rc=0
	for _ki_w in $_ki_line; do
		if [ -z "$_ki_name" ]; then _ki_name=$_ki_w; continue; fi
		[ -d "$KMOD_SYS/module/$_ki_name" ] || insmod "$KMOD_DIR/$_ki_w" 2>/dev/null || _ki_rc=1
		_ki_name=
	done
	return "$_ki_rc"
}

# kmod_name NAME: sets REPLY to NAME as the kernel and the table spell it (`-` read as `_`).
kmod_name() {
	REPLY=$1
	while :; do
		case $REPLY in *-*) REPLY=${REPLY%%-*}_${REPLY#*-} ;; *) return 0 ;; esac
	done
}

# kmod_load NAME: the table, else modprobe (an alias, a module built in without a /sys/module entry).
kmod_load() {
	kmod_name "$1"
	kmod_insmod "$REPLY" && return 0
	[ -f "$KMOD_TABLE/dep/$REPLY" ] && return 1
	modprobe -q "$1"
}

# kmod_coldplug: a driver for every device the kernel has found, as udev's coldplug would; again
# for the devices those drivers add (virtio_pci brings virtio0), until nothing new appears.
kmod_coldplug() {
	while :; do
		_kc_new=
		for _kc_f in "$KMOD_SYS"/bus/*/devices/*/modalias; do
			read -r _kc_a 2>/dev/null < "$_kc_f" || continue
			case " $KMOD_SEEN $_kc_new " in *" $_kc_a "*) continue ;; esac
			_kc_new="$_kc_new $_kc_a"
		done
		[ -n "$_kc_new" ] || return 0
		KMOD_SEEN="$KMOD_SEEN $_kc_new"
		set -f
		# shellcheck disable=SC2086 # one word per alias (no blanks in a modalias), globbing off
		kmod_match $_kc_new
		set +f
		[ -n "$KMOD_WANT" ] || return 0
		_kc_want=$KMOD_WANT
		KMOD_WANT=
		for _kc_m in $_kc_want; do
			kmod_insmod "$_kc_m" || vmsg "driver $_kc_m did not load"
			KMOD_SKIP="$KMOD_SKIP $_kc_m"
		done
	done
}
