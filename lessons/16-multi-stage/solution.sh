# step 1
docker build -t site-fat .
# step 2
#> apply solution
docker build -t site .
# step 3
docker build --target build -t site-builder .
# step 4
sed -i 's|COPY --from=build /www/index.html /www/index.html|COPY --from=0 /www/index.html /usr/share/site/index.html|' Dockerfile
docker build -t site-v2 .
