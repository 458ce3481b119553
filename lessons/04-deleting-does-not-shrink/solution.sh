# step 1
docker build -t bloated .
docker run --name del bloated rm /etc/passwd
# step 2
#> apply solution
docker build -t slim .
