#!/bin/sh
# Disk test: mounts the ext4 image (/dev/vda), reads files of known content, writes a
# file and reads it back from the device (not from the page cache), then unmounts.
# Prints (the host checks these lines):
#   disk: hello <first line of hello.txt>
#   disk: sha256 data/pattern-1m.txt <hex>
#   disk: small files <count>
#   disk: write-read ok | disk: write-read MISMATCH
#   disk: ok                  (last line, only when every step succeeded)
set -eu
mount -t ext4 /dev/vda /mnt
echo "disk: hello $(cat /mnt/hello.txt)"
echo "disk: sha256 data/pattern-1m.txt $(sha256sum < /mnt/data/pattern-1m.txt | cut -d' ' -f1)"
echo "disk: small files $(ls /mnt/data/small | wc -l)"

# 4 MiB of fresh random data: the blocks the guest writes cannot already be on the disk.
dd if=/dev/urandom of=/tmp/written.bin bs=64k count=64 2>/dev/null
want=$(sha256sum < /tmp/written.bin)
cp /tmp/written.bin /mnt/written.bin
sync
# Unmount and mount again, so the read below comes from the device.
umount /mnt
mount -t ext4 /dev/vda /mnt
got=$(sha256sum < /mnt/written.bin)
if [ "$got" = "$want" ]; then
    echo "disk: write-read ok"
else
    echo "disk: write-read MISMATCH"
    exit 1
fi
rm /mnt/written.bin
umount /mnt
echo "disk: ok"
