# step 1
docker build -t app .
docker run -d --name box app sh -c 'echo "from the container" > /container.txt; sleep 3600'
sleep 1
docker export -o /tmp/box.tar box
# step 2
docker save -o /tmp/app.tar app
# step 3
docker import /tmp/box.tar flat
# step 4
docker import --change 'ENTRYPOINT ["cat"]' --change 'CMD ["/container.txt"]' /tmp/box.tar flat-app
