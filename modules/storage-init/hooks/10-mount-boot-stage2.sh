# SPDX-License-Identifier: GPL-2.0-or-later
# The second stage is a file on the boot device: found by the device and path recorded at build
# time (stage2_dev= and stage2_path= override them), mounted, verified, loop-mounted.

read_stage2_conf || fatal "this image has no /etc/ruckusrd/stage2.conf"
read_param stage2_dev "$S2_DEV"
_s2_dev=$REPLY
read_param stage2_path "$S2_PATH"
_s2_path=$REPLY
[ -n "$_s2_dev" ] || fatal "no device recorded for the second stage: give stage2_dev="
load_device_drivers
# No blkid in a first stage this small: mount tries the filesystems /boot is usually on.
modprobe -q -a ext4 vfat
# The boot device may be the root's own filesystem (no separate /boot), which stays mounted here
# until pre-pivot; one filesystem cannot be mounted read-only and read-write at once, so it is
# mounted as the root will be (`rw`), else read-only.
_s2_opts=ro
has_param rw && _s2_opts=rw
mount_device "$_s2_dev" "$S2/boot" "" "$_s2_opts"
verify_stage2 "$S2/boot$_s2_path" "$_s2_path on $_s2_dev"
mount_stage2 "$S2/boot$_s2_path"
