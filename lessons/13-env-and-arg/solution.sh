# step 1
docker build -t envarg .
docker run -d --name e1 envarg sleep 3600
# step 2
docker build --build-arg VERSION=2.0 -t envarg:2 .
docker run -d --name e2 envarg:2 sleep 3600
# step 3
docker run -d --name e3 -e APP_MODE=debug envarg sleep 3600
# step 4
docker run -d --name dbg --env APP_MODE=debug --env VERSION=2.0 envarg:2 sleep 3600
