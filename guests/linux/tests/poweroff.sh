#!/bin/sh
# Boot benchmark: nothing to do; /init prints its status line and powers off.
echo "boot: userspace"
