# SPDX-License-Identifier: GPL-2.0-or-later
# The base's console keymap, converted at build time (modules/keymap), for the VT keyboard: loaded
# before the devices phase, so a passphrase types as on the installed system. One map serves every
# VT; a serial console is untouched (its characters come from the other end).
load_keymap() {
	[ -f /etc/ruckusrd/keymap.bmap ] || return 0
	read -r _km_name < /etc/ruckusrd/keymap || _km_name=unknown
	# loadkmap finds the VT itself (/dev/console when it is one, else /dev/tty0).
	if [ -c /dev/tty0 ] && loadkmap < /etc/ruckusrd/keymap.bmap; then
		echo "keymap=$_km_name" >> "$RD_RUN/state"
		vmsg "console keymap $_km_name loaded"
	else
		warn "cannot load the console keymap $_km_name"
	fi
}
load_keymap
