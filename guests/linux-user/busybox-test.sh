# Shell workout for busybox under `tern exec` and `qemu-riscv64` (same output
# expected): pipes, redirections, substitutions, loops, and the applets sha256sum,
# sort, find, tar, sed, awk, gzip. Usage: busybox sh busybox-test.sh WORKDIR
set -e
cd "$1"
rm -rf work && mkdir work && cd work

# Files of known content.
i=0
while [ $i -lt 30 ]; do
    mkdir -p "dir$((i % 4))/sub$((i % 3))"
    printf 'file %d\nline two of %d\n' "$i" "$i" > "dir$((i % 4))/sub$((i % 3))/f$i.txt"
    i=$((i + 1))
done
seq 1 2000 > numbers.txt
echo "here-doc:"
cat <<END
  value=$((6 * 7)) $(echo substituted)
END

# Pipes and redirections.
echo "pipes:"
cat numbers.txt | grep 7 | sort -r | head -n 3
sort -n -r numbers.txt | awk '{ s += $1 } END { print "sum", s }'
echo "to stderr" 1>&2 2>/dev/null
{ echo out; echo err 1>&2; } > both.txt 2>&1
cat both.txt
echo appended >> both.txt
wc -l < both.txt
ls nonexistent 2>/dev/null || echo "ls failed as expected: $?"
exec 3> fd3.txt
echo "through fd 3" >&3
exec 3>&-
cat fd3.txt

# find and sort
echo "find:"
find . -name '*.txt' -path '*sub1*' | sort
find . -type d | sort | tr '\n' ' '
echo
find . -type f | wc -l

# sha256sum over everything, in a fixed order
echo "sha256:"
find . -type f -name 'f*.txt' | sort | xargs sha256sum | sha256sum
sha256sum numbers.txt

# sed, awk, cut, tr, uniq
echo "text:"
sed -n 's/^file \([0-9]*\)$/n=\1/p' dir1/sub1/f1.txt
awk -F: 'NR <= 3 { print NR ": " $0 }' numbers.txt
echo "a,b,c" | cut -d, -f2
echo "hello world" | tr 'a-z' 'A-Z'
printf 'x\nx\ny\nx\n' | sort | uniq -c | sed 's/^ *//'

# tar round trip, with gzip
echo "tar:"
tar cf ../t.tar dir0 dir1
tar tf ../t.tar | sort | head -n 5
mkdir ../untar && tar xf ../t.tar -C ../untar
diff -r dir0 ../untar/dir0 && echo "tar round trip identical"
tar czf ../t.tgz dir2 && gzip -dc ../t.tgz | tar tf - | wc -l
rm -rf ../untar ../t.tar ../t.tgz

# Functions, subshells, exit status.
echo "shell:"
f() { echo "args: $# first=$1"; return 3; }
f one two || echo "f returned $?"
( cd dir0 && pwd | sed 's|.*/||' )
x=$(for n in 1 2 3; do echo -n "$n"; done)
echo "loop: $x"
case "$x" in 1*) echo "case matched";; esac
test -d dir3 && echo "dir3 exists"
[ "$(cat numbers.txt | wc -l)" -eq 2000 ] && echo "2000 lines"
cd .. && rm -rf work
echo done
exit 3
