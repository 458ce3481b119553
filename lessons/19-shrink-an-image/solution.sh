# step 1
docker build -t heavy .
# step 2
printf '%s\n' 'FROM busybox' 'WORKDIR /app' 'RUN dd if=/dev/zero of=/app/tools.bin bs=1024 count=2048 && echo "report built with $(wc -c < /app/tools.bin) bytes of tools" > /app/report.txt && rm /app/tools.bin' 'CMD ["cat", "/app/report.txt"]' > Dockerfile
docker build -t light .
