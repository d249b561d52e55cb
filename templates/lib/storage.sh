# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the storage modules (crypt, lvm, mdraid, resume), each of which installs it.

# is_off KEY: the parameter is given as 0/no/off/false (rd.luks=0, rd.lvm=0, rd.md=0).
is_off() {
	read_param "$1" || return 1
	case $REPLY in 0 | no | off | false) return 0 ;; esac
	return 1
}

# state_once LINE: appends LINE to the state file unless it is there already.
state_once() {
	grep -qxF "$1" "$RD_RUN/state" 2>/dev/null || echo "$1" >> "$RD_RUN/state"
}
