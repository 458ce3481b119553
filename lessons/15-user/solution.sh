# step 1
docker build -t who .
docker run -d --name u1 who sleep 3600
# step 2
#> apply solution
docker build -t who .
docker run -d --name u2 who sleep 3600
# step 3
docker run -d --name u3 -u root who sleep 3600
