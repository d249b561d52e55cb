# SPDX-License-Identifier: GPL-2.0-or-later
# Loads kernel modules: modules-early= first, then the build's list. Device drivers come from the
# image's driver table (kmod.sh, coldplug by modalias as udev would) while a device is waited for:
# load_next_driver, one driver per try, the lightest first, until the device is there (device.sh);
# load_device_drivers, every driver, before a passphrase prompt or a token (crypt) and for initramsys.
. /lib/ruckusrd/kmod.sh

load_device_drivers() {
	kmod_coldplug
}

load_next_driver() {
	kmod_coldplug one
}

load_module() {
	kmod_load "$1" 2>/dev/null
}

# Both lists were validated as comma-separated names (kmod_words splits them).
if read_param blacklist; then
	kmod_words "$REPLY"
	mkdir -p /etc/modprobe.d
	for _m in $REPLY; do echo "blacklist $_m"; done >> /etc/modprobe.d/ruckusrd-blacklist.conf
	for _m in $REPLY; do
		kmod_name "$_m"
		KMOD_SKIP="$KMOD_SKIP $REPLY"
	done
fi

if read_param modules-early; then
	kmod_words "$REPLY"
	for _m in $REPLY; do kmod_load "$_m" || warn "modules-early: cannot load $_m"; done
fi

while read -r _mod; do
	kmod_load "$_mod" || warn "cannot load kernel module $_mod"
done < /etc/ruckusrd/modules-load
