# step 1
docker build -t site .
docker run -d --name closed site
# step 2
docker run -d --name open -p 8080:80 site
# step 3
docker run -d --name again -p 8080:80 site || true
# step 4
docker run -d --name auto -P site
docker port auto 80 | head -1 | cut -d: -f2 > /tmp/auto-port
