#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# mkruckus /init (linuxrc): fixed code. What varies per build is data in /etc/ruckusrd/ and the
# hook files in /lib/ruckusrd/hooks/<phase>/. No `set -e`: PID 1 exiting panics the kernel, so
# every fallible step ends in `|| fatal`.
set -u
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 022

. /lib/ruckusrd/log.sh
. /lib/ruckusrd/params.sh
. /lib/ruckusrd/device.sh
. /lib/ruckusrd/hooks.sh
. /lib/ruckusrd/stage2.sh
. /lib/ruckusrd/newroot.sh

mount_pseudo_fs
timing init
# The build's shell policy first: a fatal while parsing already follows it.
read_build_shell_policy
parse_cmdline
read_param rescue && tighten_shell "$REPLY"
has_param quiet && RD_QUIET=1
has_param verbose && RD_VERBOSE=1 && trace_on
has_param shell && interactive_shell "shell requested on the command line"

NEWROOT=/sysroot
RD_MODE=traditional
[ -d "$NEWROOT" ] || mkdir -p "$NEWROOT"

run_phase stage2
run_phase early
run_phase devices
has_param initramsys && stay_in_initramfs
run_phase mount
run_phase pre-pivot

read_param init "/sbin/init"
RD_INIT=$REPLY
# init=/bin/sh is a root shell: where console shells are not open, only /sbin/init runs.
if [ "$RD_SHELL" != open ] && [ "$RD_INIT" != /sbin/init ]; then
	warn "init=$RD_INIT ignored: console shells are $RD_SHELL (rescue policy)"
	RD_INIT=/sbin/init
fi
check_init "$NEWROOT" "$RD_INIT"
has_param maint && interactive_shell "maint: leave this shell to continue booting"

is_mounted "$NEWROOT" || fatal "nothing is mounted on $NEWROOT"
echo "mode=$RD_MODE" >> "$RD_RUN/state"
timing switch_root
move_pseudo_fs "$NEWROOT"
# A failed exec ends PID 1 in busybox sh, so everything switch_root needs is checked above; the
# fatal below is a backstop for shells where exec returns.
# shellcheck disable=SC2093
exec switch_root "$NEWROOT" "$RD_INIT" "$@"
fatal "switch_root to $NEWROOT failed"
