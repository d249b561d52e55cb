# SPDX-License-Identifier: GPL-2.0-or-later
# Messages, timings and the one failure path of /init. Sourced by /init only.

RD_RUN=/run/ruckusrd
RD_KMSG=/dev/kmsg
RD_QUIET=0
RD_VERBOSE=0

msg() {
	[ "$RD_QUIET" = 1 ] || echo "ruckusrd: $*"
}

vmsg() {
	[ "$RD_VERBOSE" = 1 ] && echo "ruckusrd: $*"
	return 0
}

warn() {
	echo "ruckusrd: warning: $*" >&2
}

# Records when a phase starts, from /proc/uptime, so a boot can be measured from inside.
timing() {
	read -r _up _idle < /proc/uptime
	echo "$1 $_up" >> "$RD_RUN/timings"
	vmsg "phase $1 at $_up"
}

# A shell on the console. Used by `shell`, `maint` and `initramsys`; returning continues the boot.
interactive_shell() {
	echo "ruckusrd: $1"
	echo "ruckusrd: starting shell"
	setsid cttyhack sh -i </dev/console >/dev/console 2>&1 || sh -i </dev/console >/dev/console 2>&1
	return 0
}

# Every fatal condition ends here: one line naming the problem, then a rescue shell forever.
# Never called from inside $( ): a subshell could not keep PID 1 alive.
fatal() {
	echo "ruckusrd: fatal: $*" >&2
	echo "ruckusrd: fatal: $*" > "$RD_KMSG" 2>/dev/null
	echo "fatal=$*" >> "$RD_RUN/state" 2>/dev/null
	run_hooks emergency
	while :; do
		echo "ruckusrd: starting rescue shell" >&2
		setsid cttyhack sh -i </dev/console >/dev/console 2>&1 || sh -i </dev/console >/dev/console 2>&1
	done
}
