# step 1
docker build -t app .
# step 2
#> apply solution
docker build -t app .
# step 3
printf 'FROM busybox\nRUN echo "Simple is better than complex." > /quote.txt\nCMD cat /quote.txt\n' > Dockerfile
docker build -t quote .
