#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Run inside QEMU by test/boot/storage.boot.test.ts, in the `initramsys` shell of an image built
# with --add crypt,lvm,mdraid (this host has no device-mapper or md driver). The tools disk is
# mounted on /mnt: root.ext4 (the guest root), pass (the passphrase, no newline), root.key (a
# second key of the LUKS disks), kmpass (a third, typed with a German keymap), ids (UUIDs).
# Disks: vdb LUKS2 | vdc LVM (rvg: root, swap) | vdd LUKS2 -> LVM (cvg: root) | vde+vdf RAID1 |
# vdg LVM (lvg: crypt) -> LUKS2 | vdh LUKS2 with a detached header, written to /mnt/hdr.img |
# vdi+vdj+vdk RAID5.
set -eu
. /mnt/ids
export DM_DISABLE_UDEV=1
mkdir -p /run/lock/lvm /run/mdadm
for m in ext4 dm_mod dm_crypt md_mod raid1 raid456 xts; do modprobe "$m"; done
LUKS="--type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --batch-mode --key-file /mnt/pass"
copy_root() { dd if=/mnt/root.ext4 of="$1" bs=1M conv=fsync 2>/dev/null; }

# shellcheck disable=SC2086
cryptsetup luksFormat $LUKS --uuid "$LUKS_UUID" /dev/vdb
ADDKEY="--pbkdf pbkdf2 --pbkdf-force-iterations 1000 --batch-mode --key-file /mnt/pass"
# shellcheck disable=SC2086
cryptsetup luksAddKey $ADDKEY /dev/vdb /mnt/root.key
# shellcheck disable=SC2086
cryptsetup luksAddKey $ADDKEY /dev/vdb /mnt/kmpass
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

lvm pvcreate -y /dev/vdg
lvm vgcreate lvg /dev/vdg
lvm lvcreate -y -Wn -Zn -n crypt -L 60M lvg
lvm vgmknodes
# shellcheck disable=SC2086
cryptsetup luksFormat $LUKS --uuid "$LVLUKS_UUID" /dev/lvg/crypt
# shellcheck disable=SC2086
cryptsetup luksAddKey $ADDKEY /dev/lvg/crypt /mnt/root.key
cryptsetup open --key-file /mnt/pass /dev/lvg/crypt l1
copy_root /dev/mapper/l1
cryptsetup close l1
lvm vgchange -an lvg
echo PREP-LVMLUKS-OK

# shellcheck disable=SC2086
cryptsetup luksFormat $LUKS --uuid "$HDR_UUID" --header /mnt/hdr.img --luks2-metadata-size 16k --luks2-keyslots-size 1m /dev/vdh
cryptsetup open --header /mnt/hdr.img --key-file /mnt/pass /dev/vdh h1
copy_root /dev/mapper/h1
cryptsetup close h1
echo PREP-HDR-OK

mdadm --create /dev/md1 --run --assume-clean --metadata=1.2 --level=5 --raid-devices=3 --uuid="$MD5_UUID" /dev/vdi /dev/vdj /dev/vdk
copy_root /dev/md1
mdadm --stop /dev/md1
echo PREP-MD5-OK
sync
