# SPDX-License-Identifier: GPL-2.0-or-later
# Messages, timings and the one failure path of /init. Sourced by /init only.

RD_RUN=/run/ruckusrd
RD_KMSG=/dev/kmsg
RD_QUIET=0
RD_VERBOSE=0
# Who gets a console shell (the rescue shell, shell, maint, initramsys): open, password or off.
# The build's policy (/etc/ruckusrd/rescue) is read first; rescue= and an unattended unlock can
# only make it stricter (shell_policy, lock_consoles).
RD_SHELL=open
RD_SHELL_AUTO=0
RD_RESCUE_CONF=/etc/ruckusrd/rescue
RD_REBOOT_DELAY=10
RD_SULOGIN_DIRS="/usr/sbin /sbin /usr/bin /bin"

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

# With `verbose`, the timings file also gets one line per hook and per external command of the
# boot path, `hook|cmd START END WHAT` (uptimes): wrappers named like the commands shadow them (a
# function is found before PATH), `command` runs the real one. Only the builtin `read` of
# /proc/uptime is added, never a fork, and without `verbose` nothing at all.
trace_cmd() {
	read -r _tc_t0 _tc_idle < /proc/uptime
	command "$@"
	_tc_rc=$?
	read -r _tc_t1 _tc_idle < /proc/uptime
	echo "cmd $_tc_t0 $_tc_t1 $*" >> "$RD_RUN/timings"
	return "$_tc_rc"
}

# The external commands /init, its libraries and the hooks run (busybox applets or binaries).
# shellcheck disable=SC2317 # each wrapper is reached by its command's name, never called here
trace_on() {
	blkid() { trace_cmd blkid "$@"; }
	cat() { trace_cmd cat "$@"; }
	cp() { trace_cmd cp "$@"; }
	cryptsetup() { trace_cmd cryptsetup "$@"; }
	dd() { trace_cmd dd "$@"; }
	findfs() { trace_cmd findfs "$@"; }
	grep() { trace_cmd grep "$@"; }
	head() { trace_cmd head "$@"; }
	hexdump() { trace_cmd hexdump "$@"; }
	insmod() { trace_cmd insmod "$@"; }
	losetup() { trace_cmd losetup "$@"; }
	ls() { trace_cmd ls "$@"; }
	lvm() { trace_cmd lvm "$@"; }
	mdadm() { trace_cmd mdadm "$@"; }
	mkdir() { trace_cmd mkdir "$@"; }
	modprobe() { trace_cmd modprobe "$@"; }
	mount() { trace_cmd mount "$@"; }
	mv() { trace_cmd mv "$@"; }
	readlink() { trace_cmd readlink "$@"; }
	rm() { trace_cmd rm "$@"; }
	sed() { trace_cmd sed "$@"; }
	sha256sum() { trace_cmd sha256sum "$@"; }
	sleep() { trace_cmd sleep "$@"; }
	sort() { trace_cmd sort "$@"; }
	stat() { trace_cmd stat "$@"; }
	tr() { trace_cmd tr "$@"; }
	umount() { trace_cmd umount "$@"; }
	uname() { trace_cmd uname "$@"; }
	veritysetup() { trace_cmd veritysetup "$@"; }
}

# trace_start / trace_end WHAT: a span (a hook) in the timings file, with `verbose` only.
trace_start() {
	[ "$RD_VERBOSE" = 1 ] || return 0
	read -r _ts_t0 _ts_idle < /proc/uptime
}
trace_end() {
	[ "$RD_VERBOSE" = 1 ] || return 0
	read -r _te_t1 _te_idle < /proc/uptime
	echo "hook $_ts_t0 $_te_t1 $1" >> "$RD_RUN/timings"
}

# tighten_shell POLICY: RD_SHELL becomes POLICY when that is stricter (open < password < off); an
# unknown POLICY counts as off.
tighten_shell() {
	case $1 in open) _ts_new=0 ;; password) _ts_new=1 ;; *) _ts_new=2 ;; esac
	case $RD_SHELL in open) _ts_now=0 ;; password) _ts_now=1 ;; *) _ts_now=2 ;; esac
	[ "$_ts_new" -le "$_ts_now" ] && return 0
	case $_ts_new in 1) RD_SHELL=password ;; *) RD_SHELL=off ;; esac
}

# read_build_shell_policy: the build's `shell=POLICY` line; `auto` is open until lock_consoles.
read_build_shell_policy() {
	[ -f "$RD_RESCUE_CONF" ] || return 0
	read -r _sp < "$RD_RESCUE_CONF" || _sp=
	case $_sp in
	shell=auto) RD_SHELL_AUTO=1 ;;
	shell=open) ;;
	*) tighten_shell "${_sp#shell=}" ;;
	esac
}

# lock_consoles WHY: a disk was unlocked without a person (a key in the image): with the build's
# `auto` policy, no console shell and no init= from here on (anyone at the console would get the
# unlocked data).
lock_consoles() {
	[ "$RD_SHELL_AUTO" = 1 ] || return 0
	tighten_shell off
	msg "$1: console shells are off"
}

# rescue_login: sulogin on the console. The base's own sulogin (util-linux: yescrypt and the rest
# through libcrypt) is a file in the image, busybox's a link; busybox runs its own applet for a bare
# command name, so a file is called by its path.
rescue_login() {
	_sl=sulogin
	for _d in $RD_SULOGIN_DIRS; do
		[ -f "$_d/sulogin" ] && [ ! -L "$_d/sulogin" ] && { _sl=$_d/sulogin; break; }
	done
	setsid cttyhack "$_sl" </dev/console >/dev/console 2>&1 || "$_sl" </dev/console >/dev/console 2>&1
}

# A shell on the console as the policy allows. Used by `shell`, `maint`, `initramsys` and fatal;
# returning continues the boot.
interactive_shell() {
	echo "ruckusrd: $1"
	case $RD_SHELL in
	open)
		echo "ruckusrd: starting shell"
		setsid cttyhack sh -i </dev/console >/dev/console 2>&1 || sh -i </dev/console >/dev/console 2>&1 ;;
	password)
		# sulogin asks for root's password (the image's /etc/shadow, from the build) and starts
		# root's shell; Control-D or a timeout returns without one.
		echo "ruckusrd: starting shell after root's password"
		rescue_login ;;
	*) echo "ruckusrd: no console shell (rescue policy: off)" ;;
	esac
	return 0
}

# Every fatal condition ends here: one line naming the problem, then a rescue shell forever.
# Never called from inside $( ): a subshell could not keep PID 1 alive.
fatal() {
	echo "ruckusrd: fatal: $*" >&2
	echo "ruckusrd: fatal: $*" > "$RD_KMSG" 2>/dev/null
	echo "fatal=$*" >> "$RD_RUN/state" 2>/dev/null
	run_hooks emergency
	if [ "$RD_SHELL" = off ]; then
		echo "ruckusrd: no rescue shell (policy off): rebooting in $RD_REBOOT_DELAY seconds" >&2
		sleep "$RD_REBOOT_DELAY"
		reboot -f
		while sleep 60; do :; done
	fi
	while :; do
		echo "ruckusrd: starting rescue shell" >&2
		if [ "$RD_SHELL" = password ]; then
			rescue_login
		else
			setsid cttyhack sh -i </dev/console >/dev/console 2>&1 || sh -i </dev/console >/dev/console 2>&1
		fi
	done
}
