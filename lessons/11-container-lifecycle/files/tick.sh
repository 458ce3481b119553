# Prints a tick every second. As PID 1 in its container, it must handle SIGTERM itself:
# the kernel ignores signals that PID 1 has no handler for.
trap 'echo "got SIGTERM, saving and exiting"; exit 0' TERM
echo "started"
i=0
while true; do
  i=$((i + 1))
  echo "tick $i"
  sleep 1 &
  wait $!
done
