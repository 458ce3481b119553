# step 1
docker build -t stubborn .
docker run -d --name s1 stubborn
docker stop s1
# step 2
sed -i 's|^ENTRYPOINT .*|ENTRYPOINT echo "starting"; exec sh /serve.sh|' Dockerfile
docker build -t polite .
docker run -d --name p1 polite
docker stop p1
