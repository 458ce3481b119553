# step 1
docker build -t leaky .
# step 2
docker save -o /tmp/leaky.tar leaky
mkdir -p /tmp/leaky && tar -xf /tmp/leaky.tar -C /tmp/leaky
for layer in /tmp/leaky/blobs/sha256/*; do tar -xOf "$layer" tmp/secret.env 2>/dev/null || true; done > /tmp/found.txt
# step 3
docker history --no-trunc leaky | grep API_TOKEN > /tmp/arg-line.txt
# step 4
printf '%s\n' 'FROM busybox AS configure' 'COPY secret.env /tmp/secret.env' 'RUN . /tmp/secret.env && echo "configured for $DB_USER" > /app.conf' 'FROM busybox' 'COPY --from=configure /app.conf /app.conf' 'CMD ["cat", "/app.conf"]' > Dockerfile
docker build -t sealed .
