# step 1
docker build -t ticker .
docker create --name t ticker
# step 2
docker start t
# step 3
docker stop t
# step 4
docker restart t
# step 5
docker kill t
# step 6
docker rm t
docker run --name oops busybox sh -c 'echo "something went wrong" >&2; exit 3' || true
# step 7
docker run -d --name graceful busybox sh -c 'trap "echo bye; exit 0" TERM; while :; do sleep 1 & wait $!; done'
docker stop graceful
