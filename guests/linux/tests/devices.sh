#!/bin/sh
# Board devices test: the goldfish RTC, virtio-rng and (when the machine has one)
# a virtio console.
# Prints:
#   devices: rtc <UTC date and time from /dev/rtc0, YYYY-MM-DD HH:MM:SS>
#   devices: hwrng <driver> <n> bytes
#   devices: hvc written: <hvcN ...>   (each hvc console got "tern: hello over hvcN";
#                                        the host finds that line in a virtio console's output)
#   devices: ok
set -eu
# The RTC's own idea of the time (not the system clock, which it may have set).
echo "devices: rtc $(date -u -d "@$(cat /sys/class/rtc/rtc0/since_epoch)" '+%Y-%m-%d %H:%M:%S')"
bytes=$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | wc -c)
echo "devices: hwrng $(cat /sys/class/misc/hw_random/rng_current) $bytes bytes"
# hvc0 may be the SBI console (CONFIG_HVC_RISCV_SBI), whose output joins the serial
# console; a virtio console is the next hvc. Write to each one there is.
written=""
for dev in /dev/hvc[0-7]; do
    [ -c "$dev" ] || continue
    # A node without a console behind it fails to open (ENODEV): not an error here.
    if (echo "tern: hello over ${dev#/dev/}" > "$dev") 2>/dev/null; then
        written="$written ${dev#/dev/}"
    fi
done
[ -z "$written" ] || echo "devices: hvc written:$written"
echo "devices: ok"
