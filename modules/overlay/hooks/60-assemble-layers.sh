# SPDX-License-Identifier: GPL-2.0-or-later
# sqsh_layers=L1:...:Ln (leftmost on top), or a legacy /squashfs.img, on top of the root device
# that 50-mount-root.sh mounted on $NEWROOT.
. /lib/ruckusrd/layers.sh

read_param sqsh_layers
# L1:L2:L3 as words, split by IFS (no fork on the plain-root path either); validated names
_layers=
_ifs=$IFS
IFS=:
for _name in $REPLY; do _layers="$_layers $_name"; done
IFS=$_ifs
if [ -z "$_layers" ] && [ -f "$NEWROOT/squashfs.img" ]; then
	RD_MODE=legacy
elif [ -n "$_layers" ]; then
	RD_MODE=layered
fi

if [ "$RD_MODE" != traditional ]; then
	has_param to_ram && has_param sqsh_layerdev && fatal "sqsh_layerdev cannot be combined with to_ram"
	has_param to_ram && ! has_param ram_layer && fatal "to_ram needs ram_layer"
	check_layer_names "$_layers"
	check_overlayflags
	verity_policy
	# One modprobe: each call re-reads the module index. Layer filesystems load per layer type.
	modprobe -q -a loop overlay
	prepare_root_true
	mount_layerdev
	has_param to_ram && copy_layers_to_ram "$_layers"
	if read_param ram_layer; then
		echo "ram_layer=$REPLY" >> "$RD_RUN/state"
		mount_ram_upper "$REPLY"
	else
		mkdir -p "$RD_TRUE/upper/upper" "$RD_TRUE/upper/work" || fatal "cannot create upper/upper and upper/work on the root device"
		RD_UPPER=$RD_TRUE/upper
	fi
	if [ "$RD_MODE" = legacy ]; then
		_img=$RD_TRUE/squashfs.img
		has_param to_ram && _img=$RD_LAYERDEV/squashfs.img
		mount_layer squashfs "$_img"
	else
		for _name in $_layers; do
			if has_param to_ram; then REPLY=$RD_LAYERDEV/$_name.sqsh; else find_layer "$_name"; fi
			mount_layer "$_name" "$REPLY"
		done
	fi
	mount_overlay_root
	_upper_seen=/mnt/root-true/upper
	has_param ram_layer && _upper_seen=/mnt/upper
	_state=
	for _name in $RD_LAYER_NAMES; do _state=${_state:+$_state:}$_name; done
	{
		echo "layers=$_state"
		echo "upper=$_upper_seen/upper"
		echo "work=$_upper_seen/work"
		has_param to_ram && echo "to_ram=1"
	} >> "$RD_RUN/state"
	msg "assembled $RD_MODE root: $RD_LOWER"
fi
