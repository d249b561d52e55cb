# SPDX-License-Identifier: GPL-2.0-or-later
# hoststamp: append the boot time to the host name, so clones of one layered image differ. The name
# comes from the read-only layers (the image's own), not from the merged root: a persistent upper
# holds the last boot's stamped name, and stamping that would add a stamp per boot. Paths are
# resolved inside the root (newroot.sh); the result stays within the 64 bytes of a host name.

# hostname_of ROOT: sets REPLY to the first line of ROOT's /etc/hostname, or fails.
hostname_of() {
	root_path "$1" /etc/hostname && [ -f "$1$REPLY" ] && read -r REPLY < "$1$REPLY"
}

if has_param hoststamp && root_path "$NEWROOT" /etc/hostname && [ -f "$NEWROOT$REPLY" ]; then
	_host=
	if [ "$RD_MODE" = traditional ]; then
		# No layer below: drop a stamp of an earlier boot (-10 digits) from the root's own name.
		hostname_of "$NEWROOT" && _host=$REPLY
		case $_host in *-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]) _host=${_host%-*} ;; esac
	else
		for _name in $RD_LAYER_NAMES; do
			[ "$_name" = upper ] && continue
			hostname_of "/sqsh_layer-$_name" && _host=$REPLY && break
		done
	fi
	_stamp=$(date +%s)
	_host=$(printf '%.*s' $((63 - ${#_stamp})) "${_host:-localhost}")-$_stamp
	if root_path "$NEWROOT" /etc/hostname && echo "$_host" > "$NEWROOT$REPLY" 2>/dev/null; then
		echo "hoststamp=$_host" >> "$RD_RUN/state"
	else
		warn "hoststamp: /etc/hostname is not writable in the new root (traditional read-only root?)"
	fi
fi
