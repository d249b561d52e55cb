# SPDX-License-Identifier: GPL-2.0-or-later
# Finding block devices: /dev/NAME, LABEL=, UUID=, PARTUUID=, PARTLABEL=, with a bounded wait.

# The readers the lookup uses first (the base module installs them beside this file).
. /lib/ruckusrd/blockid.sh
. /lib/ruckusrd/parttable.sh

# Set here, never inherited: the kernel puts unknown `key=value` words into the environment.
RD_DEFAULT_WAIT=10

# find_device_once SPEC [fast]: sets REPLY to the device node, or fails. What the kernel and one read
# tell first (blockid.sh, parttable.sh: a fixed few forks however many devices there are); on a miss
# (unless `fast`: drivers are still loading), the full probe of findfs (busybox) or util-linux blkid
# (when the image has it), for the types not read there (btrfs, iso9660, ...) and partition tables
# the kernel did not read.
find_device_once() {
	REPLY=
	case $1 in
	/dev/*) [ -b "$1" ] && REPLY=$1 ;;
	LABEL=* | UUID=*) bi_by_fs "$1" || [ -n "${2-}" ] || find_device_probe "$1" ;;
	PARTLABEL=*) pt_by_partlabel "${1#PARTLABEL=}" || [ -n "${2-}" ] || find_device_probe "$1" ;;
	PARTUUID=*) pt_by_partuuid "${1#PARTUUID=}" || [ -n "${2-}" ] || find_device_probe "$1" ;;
	esac
	[ -n "$REPLY" ] && [ -b "$REPLY" ]
}

# find_device_probe SPEC: the full probe of every device for every type (findfs is busybox's;
# util-linux blkid, when the image has it, also knows PARTUUID/PARTLABEL). Said once per SPEC
# with `verbose`: a boot that needs it for a type blockid.sh reads is a bug to see.
RD_PROBED=
find_device_probe() {
	case " $RD_PROBED " in *" $1 "*) ;; *) RD_PROBED="$RD_PROBED $1"; vmsg "$1: probing every device" ;; esac
	case $1 in LABEL=* | UUID=*) REPLY=$(findfs "$1" 2>/dev/null) && return 0 ;; esac
	REPLY=$(blkid -l -o device -t "$1" 2>/dev/null) || REPLY=
}

# now_cs: sets REPLY to the uptime in hundredths of a second (no leading zero: ash reads 08 as octal).
now_cs() {
	read -r _up _idle < /proc/uptime
	_cs=${_up#*.}
	REPLY=$((${_up%.*} * 100 + ${_cs#0}))
}

# wait_for_device SPEC [soft]: waits rootdelay= seconds, forever with rootwait, else RD_DEFAULT_WAIT;
# sets REPLY to the node or ends in fatal (`soft`: fails instead). The bound is time, not tries: a try
# that loads drivers can take far longer than the pause between tries. Between tries block_nap
# returns as soon as the kernel adds a block device, so a disk that appears late is looked up at once.
# While a driver is left to load, a try loads the next one without a pause and without the full
# probe. With `verbose` the timings get `find START END SPEC NODE TRIES PAUSES`.
wait_for_device() {
	[ "$RD_VERBOSE" = 1 ] && read -r _wf_t0 _wf_idle < /proc/uptime
	_wf_tries=1
	_wf_naps=0
	_wf_fast=fast
	read_param rootdelay "$RD_DEFAULT_WAIT"
	_secs=$REPLY
	now_cs
	_deadline=$((REPLY + _secs * 100))
	_late=$((REPLY + _secs * 50))
	until find_device_once "$1" $_wf_fast; do
		RD_PROMPTED=0
		if coldplug_devices; then _wf_more=1; else _wf_more=0 _wf_fast=; fi
		now_cs
		# Time spent typing a passphrase is not time spent waiting for a device.
		[ "$RD_PROMPTED" = 1 ] && _deadline=$((REPLY + _secs * 100)) && _late=$((REPLY + _secs * 50))
		if [ "$REPLY" -ge "$_late" ]; then
			_late=2147483647
			for _step in $RD_LATE_STEPS; do "$_step"; done
		fi
		if ! has_param rootwait && [ "$REPLY" -ge "$_deadline" ]; then
			nap_done
			[ "${2-}" = soft ] && return 1
			fatal "device $1 not found after $_secs seconds"
		fi
		[ "$_wf_more" = 1 ] || { block_nap; _wf_naps=$((_wf_naps + 1)); }
		_wf_tries=$((_wf_tries + 1))
	done
	nap_done
	vmsg "found $1 at $REPLY"
	[ "$RD_VERBOSE" = 1 ] || return 0
	read -r _wf_t1 _wf_idle < /proc/uptime
	echo "find $_wf_t0 $_wf_t1 $1 $REPLY $_wf_tries $_wf_naps" >> "$RD_RUN/timings"
}

# block_nap: returns when the kernel's list of block devices changes (a new disk or partition), or
# after 0.1 s: 20 ms naps, each followed by one glob of /sys/class/block (no fork, no device read).
block_nap() {
	set -- "$PT_SYS"/class/block/*
	_bn_was=$*
	for _bn in 1 2 3 4 5; do
		rd_nap
		set -- "$PT_SYS"/class/block/*
		[ "$*" = "$_bn_was" ] || return 0
	done
}

# rd_nap: a 20 ms pause without a fork: busybox ash's `read -t` times out on a fifo that /init
# holds open for reading and writing (so it never ends); a shell without `read -t` (dash) sleeps.
# The fifo's descriptor (9) is closed again by nap_done, so no process /init starts inherits it.
RD_NAP=
rd_nap() {
	if [ -z "$RD_NAP" ]; then
		RD_NAP=fork
		{ [ -p "$RD_RUN/nap" ] || mkfifo "$RD_RUN/nap" 2>/dev/null; } && [ -p "$RD_RUN/nap" ] && exec 9<> "$RD_RUN/nap" && RD_NAP=fifo
	fi
	if [ "$RD_NAP" = fifo ]; then
		# shellcheck disable=SC3045 # busybox ash has read -t; dash says no (2) and sleeps instead
		read -r -t 0.02 -u 9 _nap 2>/dev/null
		[ $? = 2 ] || return 0
		RD_NAP=fork
	fi
	sleep 0.02
}

nap_done() {
	[ -z "$RD_NAP" ] && return 0
	[ "$RD_NAP" = fifo ] && exec 9<&-
	RD_NAP=
}

# Loads a driver for every device the kernel has found (coldplug by modalias, as udev would);
# called again while waiting for a device, for devices that appeared late.
load_device_drivers() {
	_aliases=$(cat /sys/bus/*/devices/*/modalias 2>/dev/null | sort -u)
	set -f
	# shellcheck disable=SC2086 # one word per alias; globbing is off for the aliases' own * and ?
	modprobe -q -a $_aliases 2>/dev/null
	set +f
	return 0
}

# load_module NAME: a kernel module by name; the kmod module replaces it with its table's insmod
# (modprobe reads its index on every call: ~0.5 s for ext4 under TCG).
load_module() {
	modprobe -q "$1" 2>/dev/null
}

# Storage modules (crypt, lvm, mdraid) append a function name to RD_DEVICE_STEPS from their
# devices-phase hook: one handler for every block device, whatever waits. The steps run in
# registration order (assemble, unlock, activate) whenever the set of block devices has changed,
# so what one step makes (md, dm) comes back through all of them on the next round.
# RD_LATE_STEPS run once when half the wait has passed (a RAID started degraded).
RD_DEVICE_STEPS=
RD_LATE_STEPS=
RD_BLOCK_SEEN=
RD_PROMPTED=0

# load_next_driver: loads the next driver a device present wants, for a wait that ends once its
# device is there; fails when none is left. Without the kmod module's table: all of them at once.
load_next_driver() {
	load_device_drivers
	return 1
}

# coldplug_devices: the next driver for the devices present, then the storage steps on new block
# devices. One driver per try, the lightest first, and the wait stops once its device is there: a
# virtio root never loads an IDE controller's or a floppy's driver (the root's udev loads the rest),
# with storage steps too (a LUKS, LVM or RAID root on virtio is found after virtio_blk, before
# libata; crypt.sh loads every driver itself before it asks for a passphrase or a token).
# Fails when no driver was left to load: the caller then pauses before its next try.
coldplug_devices() {
	load_next_driver
	_cd_rc=$?
	[ -n "$RD_DEVICE_STEPS" ] || return "$_cd_rc"
	# The set of block devices, by one glob (no fork): the steps run again only when it changed,
	# and not before the first device (no read of /proc/partitions while there is none).
	set -- "$PT_SYS"/class/block/*
	[ -e "$1" ] || set --
	[ "$*" = "$RD_BLOCK_SEEN" ] && return "$_cd_rc"
	RD_BLOCK_SEEN=$*
	for _step in $RD_DEVICE_STEPS; do "$_step"; done
	return "$_cd_rc"
}

# fs_type DEV: sets REPLY to the filesystem type by magic (empty when unknown): known from the
# lookup, or one superblock read, else blkid.
fs_type() {
	bi_fs_type "$1"
	[ -n "$REPLY" ] && [ "$REPLY" != jbd ] && return 0
	REPLY=$(blkid -o value -s TYPE "$1" 2>/dev/null) || REPLY=
}

# mount_device SPEC DIR FSTYPE OPTIONS: waits, loads the filesystem driver, mounts.
mount_device() {
	wait_for_device "$1"
	_dev=$REPLY
	_type=$3
	[ -n "$_type" ] || { fs_type "$_dev"; _type=$REPLY; }
	[ -n "$_type" ] && load_module "$_type"
	[ -d "$2" ] || mkdir -p "$2"
	if [ -n "$_type" ]; then
		mount -t "$_type" -o "$4" "$_dev" "$2" || fatal "cannot mount $1 ($_dev, $_type) on $2"
	else
		mount -o "$4" "$_dev" "$2" || fatal "cannot mount $1 ($_dev) on $2"
	fi
}
