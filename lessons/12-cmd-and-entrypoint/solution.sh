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
