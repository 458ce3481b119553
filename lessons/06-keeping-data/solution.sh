# step 1
docker volume create notes
docker run --name writer -v notes:/data busybox sh -c 'echo "kept in a volume" > /data/note.txt'
docker rm writer
# step 2
docker run -d --name reader -v notes:/data busybox sleep 3600
# step 3
docker run --name tweak busybox sh -c 'echo "v1" > /version.txt'
docker commit tweak tweaked
# step 4
#> apply solution
docker build -t versioned .
# step 5
docker volume create counter
for n in one two three; do docker run --rm -v counter:/data busybox sh -c "echo $n >> /data/count.txt"; done
