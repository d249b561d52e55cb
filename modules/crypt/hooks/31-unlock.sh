# SPDX-License-Identifier: GPL-2.0-or-later
# LUKS devices are opened by the device handler (templates/lib/device.sh) while /init waits for a
# device that needs them; this only says which ones (crypt.sh).
. /lib/ruckusrd/storage.sh
. /lib/ruckusrd/crypt.sh
. /lib/ruckusrd/crypt-key.sh
crypt_plan
