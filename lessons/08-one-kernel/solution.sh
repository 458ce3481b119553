# step 1
docker run -d --name iso --hostname sandbox busybox sleep 3600
# step 2
docker run -d --name py python:3.11 sleep 3600
# step 3
docker run -d --name offline --network none busybox sleep 3600
docker run -d --name hostnet --network host busybox sleep 3600
# step 4
docker run --name capped --memory=20m busybox dd if=/dev/zero of=/dev/null bs=40M count=1 || true
