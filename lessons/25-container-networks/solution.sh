# step 1
docker build -t api .
docker network create shop
docker run -d --name api --network shop api
# step 2
docker run -d --name client --network shop busybox sleep 3600
# step 3
docker network create other
docker run -d --name outsider --network other busybox sleep 3600
