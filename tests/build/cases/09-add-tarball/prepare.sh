# The archives are made here (deterministic content, owners 0 and 42).
mkdir -p payload/sub
echo a > payload/a.txt
echo b > payload/sub/b.txt
chmod 0640 payload/sub/b.txt
tar --numeric-owner --owner=42 --group=42 -cf archive.tar -C payload .
tar --numeric-owner --owner=0 --group=0 -czf archive.tar.gz -C payload .
rm -rf payload
