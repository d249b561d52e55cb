# SPDX-License-Identifier: GPL-2.0-or-later
# resume=DEV: hands the swap device holding a hibernation image to the kernel before any
# filesystem of the disk is mounted (the root is mounted at 50). With an image, the kernel resumes
# the old system and /init goes no further; without one it returns and the boot goes on. The
# device may be inside LUKS or LVM: the device handler unlocks and activates it like the root.
resume_from() {
	wait_for_device "$1" soft || { warn "resume device $1 not found; booting without resuming"; return 0; }
	_rs_dev=$REPLY
	_rs_mm=$(stat -L -c '%t %T' "$_rs_dev" 2>/dev/null) || { warn "resume: cannot stat $_rs_dev"; return 0; }
	_rs_mm="$((0x${_rs_mm% *})):$((0x${_rs_mm#* }))"
	echo "resume=$1 $_rs_dev $_rs_mm" >> "$RD_RUN/state"
	msg "resuming from $1 ($_rs_dev, $_rs_mm) if it holds a hibernation image"
	echo "$_rs_mm" > /sys/power/resume 2>/dev/null || warn "resume: the kernel refused $_rs_dev"
}
if ! has_param noresume && read_param resume; then
	resume_from "$REPLY"
fi
