# step 1
docker build -t app .
docker create --name box app
# step 2
docker start box
# step 3
docker run --name box2 app
# step 4
docker create --name quiet app echo not writing anything
docker start -a quiet
