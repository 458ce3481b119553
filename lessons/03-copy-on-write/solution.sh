# step 1
docker build -t app .
docker run --name cow app sh -c 'echo "edited in the container" >> /app/greeting.txt'
# step 2
docker run -d --name fresh app sleep 3600
# step 3
docker run --name scratch app sh -c 'echo new > /app/new.txt && rm /etc/group'
# step 4
docker run --name moved app mv /app/greeting.txt /app/hello.txt
