# step 1
docker build -t app:1.0 .
docker tag app:1.0 app:latest
# step 2
echo "2.0" > version.txt
docker build -t app:2.0 .
docker tag app:2.0 app:latest
# step 3
docker save -o /tmp/app-1.0.tar app:1.0
docker rmi app:1.0
# step 4
docker load -i /tmp/app-1.0.tar
# step 5
docker save --output /tmp/v2.tar app:2.0
docker rmi app:latest app:2.0
docker load --input /tmp/v2.tar
