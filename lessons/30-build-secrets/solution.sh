# step 1
docker build --build-arg REGISTRY_TOKEN=tok-1234-from-an-arg -t leaky .
docker history --no-trunc leaky | grep tok-1234 > /tmp/arg-leak.txt
# step 2
docker inspect -f '{{json .Config.Env}}' leaky > /tmp/env-leak.txt
# step 3
printf '%s\n' 'FROM busybox' 'RUN --mount=type=secret,id=registry_token,required \' '    test -s /run/secrets/registry_token && echo "downloaded with a token" > /deps.txt' 'CMD ["cat", "/deps.txt"]' > Dockerfile
docker build --secret id=registry_token,src=token.txt -t sealed .
# step 4
docker save -o /tmp/sealed.tar sealed
mkdir -p /tmp/sealed && tar -xf /tmp/sealed.tar -C /tmp/sealed
for layer in /tmp/sealed/blobs/sha256/*; do tar -xOf "$layer" 2>/dev/null || true; done > /tmp/sealed-files.txt
# step 5
export REGISTRY_TOKEN=tok-5555-from-the-env
docker build --secret id=registry_token,env=REGISTRY_TOKEN -t envy .
