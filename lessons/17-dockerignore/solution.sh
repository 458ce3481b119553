# step 1
docker build -t ctx .
# step 2
#> apply solution
docker build -t ctx .
# step 3
echo "more notes" >> notes/draft.txt
docker build -t ctx .
