# step 1
docker build -t greet .
docker run --name g1 greet
docker run --name g2 greet echo Bye
# step 2
#> apply solution
docker build -t greet .
docker run --name g3 greet
docker run --name g4 greet Layerlab
# step 3
docker run --name g5 --entrypoint date greet -u -d @0
# step 4
printf '%s\n' 'FROM busybox' 'ENTRYPOINT ["sh", "-c", "echo \"$*\" | tr a-z A-Z", "shout"]' > Dockerfile
docker build -t shout .
docker run --name s1 shout hello
