# SPDX-License-Identifier: GPL-2.0-or-later
# The second stage is a file inside this initramfs.

read_stage2_conf || fatal "this image has no /etc/ruckusrd/stage2.conf"
mount_stage2 "$S2_IMAGE"
