# step 1
docker build -t app .
# step 2
#> apply solution
docker build -t app .
