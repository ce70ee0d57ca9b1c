mkdir -p app/bin app/conf app/cache src/x
echo tool > app/bin/tool
echo a > app/conf/a.conf
echo b > app/conf/b.conf
echo t > app/junk.tmp
echo c > app/cache/c
echo y > src/x/y.c
