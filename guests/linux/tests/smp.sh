#!/bin/sh
# SMP test: counts the harts, runs one busy worker pinned to each of them, and (with
# more than one hart) takes hart 1 offline and back (SBI HSM hart_stop / hart_start).
# Prints:
#   smp: nproc <n>
#   smp: online <cpu list>
#   smp: worker <i> ran on cpu <i>     (one line per hart, in any order)
#   smp: hotplug cpu1 ok               (only with more than one hart)
#   smp: ok
set -eu
n=$(nproc)
echo "smp: nproc $n"
echo "smp: online $(cat /sys/devices/system/cpu/online)"

i=0
while [ "$i" -lt "$n" ]; do
    # Field 39 of /proc/PID/stat is the CPU the task last ran on; the `cut` that
    # reads its own stat inherits the worker's affinity.
    taskset -c "$i" sh -c '
        x=0
        while [ $x -lt 20000 ]; do x=$((x + 1)); done
        echo "smp: worker $1 ran on cpu $(cut -d" " -f39 /proc/self/stat)"
    ' worker "$i" &
    i=$((i + 1))
done
wait

if [ "$n" -gt 1 ]; then
    echo 0 > /sys/devices/system/cpu/cpu1/online
    off=$(cat /sys/devices/system/cpu/offline)
    echo 1 > /sys/devices/system/cpu/cpu1/online
    # cpu1 now runs again: a task pinned to it must get to run.
    back=$(taskset -c 1 cut -d" " -f39 /proc/self/stat)
    if [ "$off" = 1 ] && [ "$back" = 1 ]; then
        echo "smp: hotplug cpu1 ok"
    else
        echo "smp: hotplug cpu1 FAILED (offline '$off', ran on '$back')"
        exit 1
    fi
fi
echo "smp: ok"
