# step 1
docker build -t app .
docker tag app registry.lab/me/app:1
docker push registry.lab/me/app:1
# step 2
docker rmi app registry.lab/me/app:1
docker pull registry.lab/me/app:1
# step 3
docker inspect --format '{{index .RepoDigests 0}}' registry.lab/me/app:1 > /tmp/v1
echo 'version 2' > hello.txt
docker build -t registry.lab/me/app:1 .
docker push registry.lab/me/app:1
# step 4
docker tag "$(cat /tmp/v1)" registry.lab/me/app:stable
docker push registry.lab/me/app:stable
