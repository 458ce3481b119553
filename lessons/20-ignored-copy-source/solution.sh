# step 1
docker build -t broken . 2>&1 | tee /tmp/build.log
# step 2
printf '*.txt\n!config.txt\n' > .dockerignore
docker build -t broken .
