# Modes git does not keep.
chmod 0750 dir/sub
chmod 0604 dir/top.txt
