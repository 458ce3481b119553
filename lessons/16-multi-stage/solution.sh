# step 1
docker build -t site-fat .
# step 2
#> apply solution
docker build -t site .
# step 3
docker build --target build -t site-builder .
