# SPDX-License-Identifier: GPL-2.0-or-later
# Kernel modules from the table the build wrote for exactly the modules in the image
# (/lib/modules/KVER/ruckusrd, src/core/boot-kmod-table.ts): alias/BUCKET holds `case` lines that
# name the modules a device modalias wants, dep/NAME the `name path` pairs to insmod, dependencies
# first. Each device is matched once, with builtins only; one insmod per module that is not yet
# loaded. What the table does not know (an alias, a built-in without /sys/module) goes to modprobe.

# The running kernel's version without a fork; uname only where /proc is missing.
read -r KMOD_KVER 2>/dev/null < /proc/sys/kernel/osrelease || KMOD_KVER=$(uname -r)
KMOD_DIR=/lib/modules/$KMOD_KVER
KMOD_TABLE=$KMOD_DIR/ruckusrd
# Where sysfs is (test/shell sets a fake one), and where a cold module is decompressed for insmod.
KMOD_SYS=/sys
KMOD_TMP=/tmp
# Space-separated: modaliases matched so far; modules they want, not yet tried; modules never to
# load by alias (blacklist=) or tried already.
KMOD_SEEN=
KMOD_WANT=
KMOD_SKIP=
KMOD_ALIAS=
# " NAME:KIB" of every wanted module (its load chain's weight, from the table); modalias files read.
KMOD_COST=
KMOD_FILES=

# kmod_words LIST: sets REPLY to the comma-separated LIST, space-separated (by IFS, no fork).
kmod_words() {
	_kw_ifs=$IFS
	IFS=,
	REPLY=
	for _kw in $1; do REPLY="$REPLY $_kw"; done
	IFS=$_kw_ifs
}

# kmod_found NAME [KIB]: called by the table's case lines for the alias being matched (KMOD_ALIAS).
# A legacy PC device named by its ISA PnP ID (pnp:dPNP0700, acpi:PNP0700: the floppy controller
# QEMU and many PCs have) weighs a GiB more: a wait loads its driver only after every other one,
# since a root is on a PCI, virtio, USB or platform device, not behind a floppy or a legacy port.
kmod_found() {
	case " $KMOD_SKIP $KMOD_WANT " in *" $1 "*) return 0 ;; esac
	KMOD_WANT="$KMOD_WANT $1"
	_kf_kib=${2:-0}
	case $KMOD_ALIAS in pnp:dPNP* | acpi:PNP0*) _kf_kib=$((_kf_kib + 1048576)) ;; esac
	KMOD_COST="$KMOD_COST $1:$_kf_kib"
}

# kmod_lightest: sets REPLY to the wanted module whose load chain weighs least (the first of equals).
kmod_lightest() {
	REPLY=
	_kl_min=
	for _kl_m in $KMOD_WANT; do
		_kl_c=${KMOD_COST##*" $_kl_m:"}
		_kl_c=${_kl_c%% *}
		if [ -z "$_kl_min" ] || [ "$_kl_c" -lt "$_kl_min" ]; then _kl_min=$_kl_c; REPLY=$_kl_m; fi
	done
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

# kmod_cpu_fits NAME: whether this CPU has what NAME's cpu: aliases ask (crc32c-intel: SSE4.2), as
# udev's cpu coldplug decides; a module without them, or a kernel without a CPU modalias, fits.
KMOD_CPU=
kmod_cpu_fits() {
	[ -f "$KMOD_TABLE/cpu/$1" ] || return 0
	[ -n "$KMOD_CPU" ] || read -r KMOD_CPU 2>/dev/null < "$KMOD_SYS/devices/system/cpu/modalias" || return 0
	# shellcheck disable=SC1090 # generated at build time
	. "$KMOD_TABLE/cpu/$1"
	kmod_cpu_case
}

# kmod_insmod_file PATH: insmod of one module file. A cold one (kept .ko.gz/.ko.xz) is decompressed
# first: busybox insmod would hand the compressed file to finit_module before decompressing it
# itself, and the kernel logs its refusal ("Invalid ELF header magic", KERN_ERR: on the console
# even with quiet).
kmod_insmod_file() {
	# by pid: the kernel's own requests (modprobe.sh) may run beside /init's loads
	_kf_tmp=$KMOD_TMP/.ruckusrd-module.$$.ko
	case $1 in
	*.ko.gz) gunzip -c "$1" 2>/dev/null > "$_kf_tmp" ;;
	*.ko.xz) unxz -c "$1" 2>/dev/null > "$_kf_tmp" ;;
	*) insmod "$1" 2>/dev/null; return ;;
	esac || { rm -f "$_kf_tmp"; return 1; }
	insmod "$_kf_tmp" 2>/dev/null
	_kf_rc=$?
	rm -f "$_kf_tmp"
	return "$_kf_rc"
}

# kmod_insmod NAME: loads NAME and what it needs, in order, skipping what is loaded and what this
# CPU cannot run (an alternative implementation a softdep names); fails when NAME is not in the
# table, does not fit the CPU, or a module of its chain does not load.
kmod_insmod() {
	[ -d "$KMOD_SYS/module/$1" ] && return 0
	[ -f "$KMOD_TABLE/dep/$1" ] || return 1
	read -r _ki_line < "$KMOD_TABLE/dep/$1" || return 1
	_ki_name=
	_ki_rc=0
	for _ki_w in $_ki_line; do
		if [ -z "$_ki_name" ]; then _ki_name=$_ki_w; continue; fi
		if [ -d "$KMOD_SYS/module/$_ki_name" ]; then
			:
		elif kmod_cpu_fits "$_ki_name"; then
			kmod_insmod_file "$KMOD_DIR/$_ki_w" || _ki_rc=1
		elif [ "$_ki_name" = "$1" ]; then
			_ki_rc=1
		fi
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

# kmod_modprobe ARG...: busybox's own modprobe, for what the table does not know (the image's
# /sbin/modprobe is modprobe.sh).
kmod_modprobe() {
	busybox modprobe "$@"
}

# kmod_request NAME: a modprobe request (modprobe.sh): the module of that name, else every module
# whose plain-name alias matches (fs-ext4, crypto-xts(aes): the table's _name and _any buckets), all
# of them as modprobe loads an alias. Returns 1 when one did not load, 2 when the table knows
# neither. Run in modprobe.sh's own process: it starts the wanted list afresh.
kmod_request() {
	kmod_name "$1"
	[ -f "$KMOD_TABLE/dep/$REPLY" ] && { kmod_insmod "$REPLY"; return; }
	kmod_buckets "$1"
	KMOD_WANT=
	for _kr_b in _name _any; do
		[ -f "$KMOD_TABLE/alias/$_kr_b" ] || continue
		# shellcheck disable=SC1090 # generated at build time
		. "$KMOD_TABLE/alias/$_kr_b"
		kmod_bucket
	done
	[ -n "$KMOD_WANT" ] || return 2
	_kr_rc=1
	for _kr_m in $KMOD_WANT; do kmod_insmod "$_kr_m" && _kr_rc=0; done
	return "$_kr_rc"
}

# kmod_scan: matches the devices that appeared since the last scan (a glob of their modalias files,
# one read of each new one); fails when there was none.
kmod_scan() {
	_ks_new=
	for _ks_f in "$KMOD_SYS"/bus/*/devices/*/modalias; do
		case " $KMOD_FILES " in *" $_ks_f "*) continue ;; esac
		read -r _ks_a 2>/dev/null < "$_ks_f" || continue
		KMOD_FILES="$KMOD_FILES $_ks_f"
		case " $KMOD_SEEN $_ks_new " in *" $_ks_a "*) continue ;; esac
		_ks_new="$_ks_new $_ks_a"
	done
	[ -n "$_ks_new" ] || return 1
	KMOD_SEEN="$KMOD_SEEN $_ks_new"
	set -f
	# shellcheck disable=SC2086 # one word per alias (no blanks in a modalias), globbing off
	kmod_match $_ks_new
	set +f
}

# kmod_insmod_wanted NAME: loads a wanted module; it is not wanted (or tried) again.
kmod_insmod_wanted() {
	kmod_insmod "$1" || vmsg "driver $1 did not load"
	KMOD_SKIP="$KMOD_SKIP $1"
}

# kmod_coldplug [one]: a driver for every device the kernel has found, as udev's coldplug would; again
# for the devices those drivers add (virtio_pci brings virtio0), until nothing new appears. With
# `one`: only the lightest driver wanted now (after a scan for new devices), for a wait that stops
# once its device is there; fails when no driver is left to load.
kmod_coldplug() {
	if [ "${1-}" = one ]; then
		kmod_scan
		[ -n "$KMOD_WANT" ] || return 1
		kmod_lightest
		_kc_m=$REPLY
		_kc_rest=
		for _kc_w in $KMOD_WANT; do [ "$_kc_w" = "$_kc_m" ] || _kc_rest="$_kc_rest $_kc_w"; done
		KMOD_WANT=$_kc_rest
		kmod_insmod_wanted "$_kc_m"
		return 0
	fi
	while :; do
		kmod_scan
		[ -n "$KMOD_WANT" ] || return 0
		_kc_want=$KMOD_WANT
		KMOD_WANT=
		for _kc_m in $_kc_want; do kmod_insmod_wanted "$_kc_m"; done
	done
}
