# step 1
docker build -t ctx .
# step 2
#> apply solution
docker build -t ctx .
# step 3
echo "more notes" >> notes/draft.txt
docker build -t ctx .
# step 4
echo "keep this one" > notes/keep.md
printf 'secret.env\nnotes/*\n!notes/keep.md\n' > .dockerignore
docker build -t ctx .
