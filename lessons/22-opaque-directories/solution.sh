# step 1
docker build -t redo .
# step 2
docker save -o /tmp/redo.tar redo
mkdir -p /tmp/redo && tar -xf /tmp/redo.tar -C /tmp/redo
for layer in /tmp/redo/blobs/sha256/*; do tar -tf "$layer" 2>/dev/null; done | grep wh > /tmp/markers.txt
# step 3
printf '%s\n' 'FROM busybox' 'RUN mkdir /site && echo "old page a" > /site/a.html && echo "old page b" > /site/b.html && cat /site/*.html > /dev/null && rm -rf /site && mkdir /site && echo "new page" > /site/index.html' 'CMD ["ls", "/site"]' > Dockerfile
docker build -t once .
