# SPDX-License-Identifier: GPL-2.0-or-later
# Moves the layered root's mounts to their places in the new root (SPEC §2), releases the root
# device with to_ram, and hands over the overlay read-only unless `rw`.

# move_mount FROM TO: TO is resolved inside the new root (its /mnt may be a symlink) and created in
# the (still writable) overlay.
move_mount() {
	root_path "$NEWROOT" "$2" || fatal "cannot resolve $2 in the new root (a symlink loop)"
	mkdir -p "$NEWROOT$REPLY" || fatal "cannot create $2 in the new root"
	mount --move "$1" "$NEWROOT$REPLY" || fatal "cannot move $1 to $2"
}

if [ "$RD_MODE" != traditional ]; then
	for _name in $RD_LAYER_NAMES; do move_mount "/sqsh_layer-$_name" "/mnt/sqsh_layer-$_name"; done
	has_param ram_layer && move_mount /upper /mnt/upper
	grep -q " $RD_LAYERDEV " /proc/mounts && move_mount "$RD_LAYERDEV" /mnt/sqsh_layerdev
	if has_param to_ram; then
		umount "$RD_TRUE" || fatal "to_ram: cannot release the root device"
	else
		move_mount "$RD_TRUE" /mnt/root-true
	fi
	has_param rw || mount -o remount,ro "$NEWROOT" || fatal "cannot remount the overlay root read-only"
fi
