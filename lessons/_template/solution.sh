# step 1
docker build -t app .
