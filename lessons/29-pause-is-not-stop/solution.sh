# step 1
docker build -t ticker .
docker run -d --name t ticker
sleep 2
docker pause t
# step 2
docker unpause t
# step 3
docker stop -t 1 t
docker start t
# step 4
docker run -d --name frozen busybox sh -c 'echo yes > /ready; sleep 3600'
sleep 1
docker pause frozen
