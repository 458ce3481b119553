# step 1
docker run --name notes busybox sh -c 'echo "remember me" > /notes.txt'
# step 2
docker rm notes
# step 3
docker run -d --name notes busybox sleep 3600
# step 4
docker run --name scribe busybox sh -c 'echo "remember me" > /notes.txt; cat /notes.txt'
docker logs scribe > /tmp/notes.txt
docker rm scribe
