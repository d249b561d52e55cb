#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# /sbin/modprobe of the image (a link through /proc to /usr/lib/ruckusrd/modprobe: see module.ts):
# the kernel's module helper (its request_module runs it: a cipher dm-crypt wants at unlock, fs-NAME
# for a mount) and what /init's own `modprobe -q -a NAME...` calls reach. The image's table answers
# as it does for /init's device drivers, so a cold module is decompressed before insmod; busybox
# modprobe would first hand the compressed file to the kernel, whose refusal ("Invalid ELF header
# magic", KERN_ERR) reaches the console even with quiet. Names the table does not know, module
# parameters and other options go to busybox modprobe as they came.
#
# The kernel's requests before /init runs never get here: the link leads nowhere until /init mounts
# /proc. What they ask for, the kernel's own start can do without: 6.12's crypto self-tests and
# encrypted keys want an AES implementation, and loading aesni_intel, cryptd and their kin from a
# storage-all image cost a second of TCG before /init (issue 11). A cipher is asked for again when
# something uses it, and the root's udev loads CPU drivers by their modalias.
. /lib/ruckusrd/kmod.sh
# the names are split on blanks below, never globbed (a rescue shell's `modprobe '*'`)
set -f
_all=
_names=
for _arg; do
	case $_arg in
	--) ;;
	-*[!qab]*) kmod_modprobe "$@"; exit ;;
	-*a*) _all=1 ;;
	-*) ;;
	*) _names="$_names $_arg" ;;
	esac
done
# Without -a, words after the first are the module's parameters.
case $_all$_names in " "*" "*) kmod_modprobe "$@"; exit ;; esac
# blacklist= holds for the kernel's aliases too, as modprobe reads the blacklist for them.
if [ -f /etc/modprobe.d/ruckusrd-blacklist.conf ]; then
	while read -r _word _module; do
		[ "$_word" = blacklist ] && kmod_name "$_module" && KMOD_SKIP="$KMOD_SKIP $REPLY"
	done < /etc/modprobe.d/ruckusrd-blacklist.conf
fi
_rc=0
for _name in $_names; do
	kmod_request "$_name"
	case $? in
	0) ;;
	2) kmod_modprobe -q "$_name" || _rc=1 ;;
	*) _rc=1 ;;
	esac
done
exit "$_rc"
