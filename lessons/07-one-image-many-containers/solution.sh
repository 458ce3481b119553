# step 1
docker build -t shared .
docker run -d --name c1 shared
docker run -d --name c2 shared
docker run -d --name c3 shared
# step 2
docker exec c1 sh -c 'echo one > /srv/mine.txt'
docker exec c2 sh -c 'echo two > /srv/mine.txt'
# step 3
docker kill c3
# step 4
docker run -d --name solo shared sh -c 'date > /srv/only-here.txt && exec sleep 3600'
