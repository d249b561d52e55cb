# SPDX-License-Identifier: GPL-2.0-or-later
# Loads kernel modules: modules-early= first, then the build's list, then a driver for every
# device the kernel has found (coldplug by modalias, as udev would).

# Both lists were validated as comma-separated names, so splitting them on commas is safe.
if read_param blacklist; then
	mkdir -p /etc/modprobe.d
	for _m in $(echo "$REPLY" | tr ',' ' '); do echo "blacklist $_m"; done >> /etc/modprobe.d/ruckusrd-blacklist.conf
fi

if read_param modules-early; then
	for _m in $(echo "$REPLY" | tr ',' ' '); do modprobe "$_m" || warn "modules-early: cannot load $_m"; done
fi

while read -r _mod; do
	modprobe -q "$_mod" || warn "cannot load kernel module $_mod"
done < /etc/ruckusrd/modules-load

load_device_drivers
