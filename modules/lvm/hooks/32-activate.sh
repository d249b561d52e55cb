# SPDX-License-Identifier: GPL-2.0-or-later
# LVs are activated by the device handler (templates/lib/device.sh) while /init waits for a device
# that needs them (lvm.sh).
. /lib/ruckusrd/storage.sh
. /lib/ruckusrd/lvm.sh
lvm_plan
