# A stand-in for a server: it handles SIGTERM by finishing its work and exiting cleanly.
trap 'echo "got SIGTERM, closing connections"; exit 0' TERM
echo "serving"
while true; do
  sleep 1 &
  wait $!
done
