# step 1
docker build -t wd .
docker run -d --name w1 wd sleep 3600
# step 2
docker run -d --name w2 -w /tmp wd sleep 3600
# step 3
printf 'FROM busybox\nWORKDIR /data\nWORKDIR work\nRUN echo hi > hello.txt\n' > Dockerfile
docker build -t nested .
