# step 1
docker build -t bloated .
docker run --name del bloated rm /etc/passwd
# step 2
#> apply solution
docker build -t slim .
# step 3
printf 'FROM busybox AS data\nRUN yes x | head -c 1000000 > /cache.bin && wc -c < /cache.bin > /report.txt\nFROM busybox\nCOPY --from=data /report.txt /report.txt\n' > Dockerfile
docker build -t report .
