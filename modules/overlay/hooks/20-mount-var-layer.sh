# SPDX-License-Identifier: GPL-2.0-or-later
# var_layer=SIZE|DEV: a writable /var over a read-only root (the Buildroot idea, seed 001): an
# overlay whose lower is the root's own /var and whose upper and work share one tmpfs, or live in
# var/upper and var/work on DEV so they persist.

if read_param var_layer; then
	_var_spec=$REPLY
	if ! root_path "$NEWROOT" /var || ! [ -d "$NEWROOT$REPLY" ]; then fatal "var_layer: the root has no /var"; fi
	_var_dir=$NEWROOT$REPLY
	mkdir -p /var-layer
	if is_size "$_var_spec"; then
		mount -t tmpfs -o "size=$_var_spec,mode=0755" var_layer /var-layer || fatal "var_layer: cannot mount a tmpfs of size $_var_spec"
		_var_top=/var-layer
	else
		mount_device "$_var_spec" /var-layer "" rw
		_var_top=/var-layer/var
	fi
	mkdir -p "$_var_top/upper" "$_var_top/work" || fatal "var_layer: cannot create upper and work on $_var_spec"
	mount -t overlay -o "lowerdir=$_var_dir,upperdir=$_var_top/upper,workdir=$_var_top/work" var_layer "$_var_dir" ||
		fatal "var_layer: cannot mount the /var overlay"
	# The overlay holds its own reference to the upper; the staging mount point can go.
	umount -l /var-layer
	echo "var_layer=$_var_spec" >> "$RD_RUN/state"
fi
