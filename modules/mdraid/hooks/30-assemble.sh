# SPDX-License-Identifier: GPL-2.0-or-later
# Arrays are assembled by the device handler (templates/lib/device.sh) while /init waits for a
# device that needs them (md.sh).
. /lib/ruckusrd/storage.sh
. /lib/ruckusrd/md.sh
md_plan
