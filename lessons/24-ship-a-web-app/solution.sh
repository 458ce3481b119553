# step 1
docker build -t notes .
docker run -d --name web notes
docker exec web sh -c 'for i in $(seq 90); do wget -qO- http://127.0.0.1:8000/public/ && exit 0; sleep 1; done; exit 1'
# step 2
echo "context cache root signal" > /tmp/review.txt
# step 3
printf 'notes.md\nDockerfile\n.dockerignore\n' > .dockerignore
printf '%s\n' 'FROM python:3.11' 'WORKDIR /app' 'COPY make_pages.py ./' 'RUN python3 make_pages.py' 'USER nobody' 'CMD ["python3", "-m", "http.server", "8000"]' > Dockerfile
docker build -t notes:good .
docker run -d --name good notes:good
docker exec good sh -c 'for i in $(seq 90); do wget -qO- http://127.0.0.1:8000/public/ && exit 0; sleep 1; done; exit 1'
