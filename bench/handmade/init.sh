#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The hand-made peer of the boot benchmarks: what a person writes for one known machine (a virtio
# disk holding ext4) and nothing more. No parameters besides root=, no fsck, no rescue shell, no
# udev: insmod in the dependency order computed at build time, poll for the device node (devtmpfs
# makes it), mount, move /dev and /proc into the root (its init reads /proc), switch_root.
# Every command is a busybox applet; `insmod`, `mount` and `switch_root` each cost one fork.
PATH=/bin
busybox mount -t proc proc /proc
busybox mount -t devtmpfs devtmpfs /dev
root=/dev/vda
read -r cmdline </proc/cmdline
for word in $cmdline; do
	case $word in root=/dev/*) root=${word#root=} ;; esac
done
# /modules: one path per line, dependencies first (written by bench/peers.ts).
while read -r module; do
	busybox insmod "$module"
done </modules
tries=0
while [ ! -b "$root" ] && [ "$tries" -lt 3000 ]; do
	busybox usleep 10000
	tries=$((tries + 1))
done
busybox mount -t ext4 -o ro "$root" /root
busybox mount --move /dev /root/dev
busybox mount --move /proc /root/proc
exec busybox switch_root /root /sbin/init
