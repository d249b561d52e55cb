# SPDX-License-Identifier: GPL-2.0-or-later
# Before switch_root: the firmware of fwdev= moves into the new root (the initramfs is freed), and
# modinject copies this kernel's modules from the initramfs into the new root when it lacks them.

# Paths in the new root go through root_path: its /lib is often a symlink to /usr/lib, which
# followed from here would name the initramfs's own /usr/lib.
# The mount is the canonical path: /lib is a symlink to usr/lib in the image. Without fwdev= (the
# usual boot) nothing here forks.
if [ "$KMOD_FIRMWARE" = 1 ] && root_path "$NEWROOT" /lib/firmware && [ -d "$NEWROOT$REPLY" ]; then
	mount --move "$(readlink -f /lib/firmware)" "$NEWROOT$REPLY" || warn "fwdev: cannot move /lib/firmware into the new root"
	root_path "$NEWROOT" /mnt/fwdev && mkdir -p "$NEWROOT$REPLY" 2>/dev/null && mount --move /fwdev "$NEWROOT$REPLY"
fi

if has_param modinject; then
	_kver=$KMOD_KVER
	root_path "$NEWROOT" /lib/modules || REPLY=/lib/modules
	_moddir=$REPLY
	if [ -d "$NEWROOT$_moddir/$_kver" ]; then
		vmsg "modinject: the root already has modules for $_kver"
	elif mkdir -p "$NEWROOT$_moddir" 2>/dev/null && cp -a "/lib/modules/$_kver" "$NEWROOT$_moddir/"; then
		# Cold modules travel gzip'd; the root's modprobe may lack zlib (Debian's kmod does).
		_dir=$NEWROOT$_moddir/$_kver
		if ! { find "$_dir" -name '*.ko.gz' -exec gunzip {} + && sed -i 's/\.ko\.gz/.ko/g' "$_dir/modules.dep" "$_dir/modules.order"; }; then
			warn "modinject: cannot decompress the gzip'd modules in the new root"
		fi
		echo "modinject=$_kver $_moddir" >> "$RD_RUN/state"
	else
		warn "modinject: cannot write $_moddir in the new root (read-only root?)"
	fi
fi
