# step 1
docker build -t cache .
docker build -t cache .
# step 2
sed -i 's/version 1/version 2/' app.py
docker build -t cache .
# step 3
#> apply solution
docker build -t cache .
sed -i 's/version 2/version 3/' app.py
docker build -t cache .
# step 4
echo layer >> words.txt
docker build -t cache .
