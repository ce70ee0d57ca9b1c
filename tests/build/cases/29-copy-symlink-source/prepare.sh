echo real > real.txt
ln -s real.txt link-to-file
mkdir -p realdir dir-with-links
echo inside > realdir/inside.txt
ln -s realdir linkdir
ln -s ../real.txt dir-with-links/rel-link
ln -s /etc/passwd dir-with-links/abs-link
