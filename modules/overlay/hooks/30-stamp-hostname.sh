# SPDX-License-Identifier: GPL-2.0-or-later
# hoststamp: append the boot time to the host name, so clones of one layered image differ.

if has_param hoststamp && [ -f "$NEWROOT/etc/hostname" ]; then
	read -r _host < "$NEWROOT/etc/hostname" || _host=
	_stamp=$(date +%s)
	if echo "${_host:-localhost}-$_stamp" > "$NEWROOT/etc/hostname" 2>/dev/null; then
		echo "hoststamp=${_host:-localhost}-$_stamp" >> "$RD_RUN/state"
	else
		warn "hoststamp: $NEWROOT/etc/hostname is not writable (traditional read-only root?)"
	fi
fi
