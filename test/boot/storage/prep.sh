#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Run inside QEMU by test/boot/storage.boot.test.ts, in the `initramsys` shell of an image built
# with --add crypt,lvm,mdraid (this host has no device-mapper or md driver). The tools disk is
# mounted on /mnt: root.ext4 (the guest root), pass (the passphrase, no newline), root.key (a
# second key of the LUKS disk), ids (UUIDs).
# Disks: vdb LUKS2 | vdc LVM (rvg: root, swap) | vdd LUKS2 -> LVM (cvg: root) | vde+vdf RAID1.
set -eu
. /mnt/ids
export DM_DISABLE_UDEV=1
mkdir -p /run/lock/lvm /run/mdadm
for m in ext4 dm_mod dm_crypt md_mod raid1 xts; do modprobe "$m"; done
LUKS="--type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --batch-mode --key-file /mnt/pass"
copy_root() { dd if=/mnt/root.ext4 of="$1" bs=1M conv=fsync 2>/dev/null; }

# shellcheck disable=SC2086
cryptsetup luksFormat $LUKS --uuid "$LUKS_UUID" /dev/vdb
cryptsetup luksAddKey --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --batch-mode --key-file /mnt/pass /dev/vdb /mnt/root.key
cryptsetup open --key-file /mnt/pass /dev/vdb r1
copy_root /dev/mapper/r1
cryptsetup close r1
echo PREP-LUKS-OK

lvm pvcreate -y /dev/vdc
lvm vgcreate rvg /dev/vdc
lvm lvcreate -y -Wn -Zn -n root -L 40M rvg
lvm lvcreate -y -Wn -Zn -n swap -L 16M rvg
lvm vgmknodes
copy_root /dev/rvg/root
mkswap /dev/rvg/swap >/dev/null
lvm vgchange -an rvg
echo PREP-LVM-OK

# shellcheck disable=SC2086
cryptsetup luksFormat $LUKS --uuid "$LUKS2_UUID" /dev/vdd
cryptsetup open --key-file /mnt/pass /dev/vdd c1
lvm pvcreate -y /dev/mapper/c1
lvm vgcreate cvg /dev/mapper/c1
lvm lvcreate -y -Wn -Zn -n root -L 40M cvg
lvm vgmknodes
copy_root /dev/cvg/root
lvm vgchange -an cvg
cryptsetup close c1
echo PREP-LUKSLVM-OK

mdadm --create /dev/md0 --run --assume-clean --metadata=1.2 --level=1 --raid-devices=2 --uuid="$MD_UUID" /dev/vde /dev/vdf
copy_root /dev/md0
mdadm --stop /dev/md0
echo PREP-MD-OK
sync
