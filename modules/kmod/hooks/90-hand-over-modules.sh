# SPDX-License-Identifier: GPL-2.0-or-later
# Before switch_root: the firmware of fwdev= moves into the new root (the initramfs is freed), and
# modinject copies this kernel's modules from the initramfs into the new root when it lacks them.

# /proc/mounts names the canonical path: /lib is a symlink to usr/lib in the image.
if grep -q " $(readlink -f /lib/firmware) " /proc/mounts && [ -d "$NEWROOT/lib/firmware" ]; then
	mount --move "$(readlink -f /lib/firmware)" "$NEWROOT/lib/firmware" || warn "fwdev: cannot move /lib/firmware into the new root"
	mkdir -p "$NEWROOT/mnt/fwdev" 2>/dev/null && mount --move /fwdev "$NEWROOT/mnt/fwdev"
fi

if has_param modinject; then
	_kver=$(uname -r)
	if [ -d "$NEWROOT/lib/modules/$_kver" ]; then
		vmsg "modinject: the root already has modules for $_kver"
	elif mkdir -p "$NEWROOT/lib/modules" 2>/dev/null && cp -a "/lib/modules/$_kver" "$NEWROOT/lib/modules/"; then
		echo "modinject=$_kver" >> "$RD_RUN/state"
	else
		warn "modinject: cannot write $NEWROOT/lib/modules (read-only root?)"
	fi
fi
