# step 1
docker build -t motd .
sed -i 's/version 1/version 2/' motd.txt
docker build -t motd .
# step 2
docker image prune --force
# step 3
docker image inspect -f '{{.Id}}' motd > /tmp/old-id
docker tag "$(cat /tmp/old-id)" motd:previous
sed -i 's/version 2/version 3/' motd.txt
docker build -t motd .
