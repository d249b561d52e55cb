# SPDX-License-Identifier: GPL-2.0-or-later
# A pending `sqsh-commit` (ruckusrd.journal on the root device) is finished before 60 assembles
# the overlay; of a merge written live by mkruckus, the sweep once its conf is durable. An upper
# a live commit moved aside (upper/.committed, a layer of the boot that made it) is removed now
# that nothing reads it. The root device is made writable for it and given back as it was.
if [ -f "$NEWROOT/ruckusrd.journal" ] || [ -d "$NEWROOT/upper/.committed" ]; then
	. /lib/ruckusrd/layers.sh
	. /lib/ruckusrd/layerops.sh
	if mount -o remount,rw "$NEWROOT"; then
		if [ -f "$NEWROOT/ruckusrd.journal" ]; then
			finish_layer_op "$NEWROOT"
			# The stack may have changed: read ruckusrd.conf again (the command line still wins).
			parse_conf "$NEWROOT/ruckusrd.conf"
		else
			rm -rf "$NEWROOT/upper/.committed" && sync
		fi
		grep -q '^root_options=ro' "$RD_RUN/state" && mount -o remount,ro "$NEWROOT"
	else
		warn "layer-op: cannot write to the root device; the pending operation waits"
	fi
fi
