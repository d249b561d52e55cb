# SPDX-License-Identifier: GPL-2.0-or-later
# Pseudo filesystems and hook phases. Hooks are our own files (/lib/ruckusrd/hooks/<phase>/*.sh),
# sourced in name order (NN-module-name.sh) so they share /init's functions and variables.

RD_HOOKS=/lib/ruckusrd/hooks

mount_pseudo_fs() {
	mkdir -p /proc /sys /dev /run
	mount -t proc -o nosuid,noexec,nodev proc /proc
	mount -t sysfs -o nosuid,noexec,nodev sysfs /sys
	mount -t devtmpfs -o mode=0755,nosuid devtmpfs /dev
	mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
	mkdir -p "$RD_RUN/params" /dev/pts
	: > "$RD_RUN/timings"
}

# The new root keeps /dev, /proc, /sys and /run (with /run/ruckusrd) instead of mounting them anew;
# each place is resolved inside the new root (newroot.sh), never through its symlinks from here.
move_pseudo_fs() {
	for _fs in dev proc sys run; do
		if root_path "$1" "/$_fs" && [ -d "$1$REPLY" ]; then
			mount --move "/$_fs" "$1$REPLY" || warn "could not move /$_fs into the new root"
		fi
	done
}

# is_mounted DIR: something is mounted on DIR (as /proc/mounts names it), without a grep.
is_mounted() {
	while read -r _im_src _im_dir _im_rest; do
		[ "$_im_dir" = "$1" ] && return 0
	done < /proc/mounts
	return 1
}

run_phase() {
	timing "$1"
	run_hooks "$1"
}

# initramsys: drivers are loaded, and the initramfs itself is the system: a console shell,
# started again whenever it exits.
stay_in_initramfs() {
	[ "$RD_SHELL" = off ] && fatal "initramsys needs a console shell; the rescue policy is off"
	# No device was waited for: the drivers of every device present, as a system has them.
	load_device_drivers
	echo "mode=initramsys" >> "$RD_RUN/state"
	while :; do interactive_shell "initramsys: the initramfs is the system; no root is mounted"; done
}

run_hooks() {
	[ -d "$RD_HOOKS/$1" ] || return 0
	for _hook in "$RD_HOOKS/$1"/*.sh; do
		[ -f "$_hook" ] || continue
		vmsg "hook $_hook"
		trace_start
		. "$_hook"
		trace_end "${_hook#"$RD_HOOKS/"}"
	done
}
