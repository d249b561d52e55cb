# SPDX-License-Identifier: GPL-2.0-or-later
# Mounts root= on $NEWROOT, read-only unless `rw` (as the kernel does), then reads the
# ruckusrd.conf at its top.

if ! is_mounted "$NEWROOT"; then
	read_param root || fatal "no root= on the kernel command line"
	_root_spec=$REPLY
	_root_opts=ro
	has_param rw && _root_opts=rw
	read_param rootflags && _root_opts="$_root_opts,$REPLY"
	read_param rootfstype
	mount_device "$_root_spec" "$NEWROOT" "$REPLY" "$_root_opts"
	{
		echo "root=$_root_spec"
		echo "rootdev=$_dev"
		echo "rootfstype=$_type"
		echo "root_options=$_root_opts"
	} >> "$RD_RUN/state"
	msg "mounted $_root_spec ($_dev) on $NEWROOT"
	# ruckusrd.conf: the same parameters as the command line, which wins key by key.
	parse_conf "$NEWROOT/ruckusrd.conf"
fi
