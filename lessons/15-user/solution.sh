# step 1
docker build -t who .
docker run -d --name u1 who sleep 3600
# step 2
#> apply solution
docker build -t who .
docker run -d --name u2 who sleep 3600
# step 3
docker run -d --name u3 -u root who sleep 3600
# step 4
printf 'FROM busybox\nRUN mkdir /work && chown 1234:1234 /work\nUSER 1234:1234\nCMD ["sleep", "3600"]\n' > Dockerfile
docker build -t owner .
docker run -d --name o1 owner
