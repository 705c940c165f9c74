# Sourced by scripts/test.sh and scripts/bench.sh (from the repo root, after KAFKA_PORT is set):
# use KAFKA_BOOTSTRAP_SERVERS if it is set, else start the repo's broker on KAFKA_PORT and stop it on exit.
if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
  scripts/kafka.sh start
  export KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$KAFKA_PORT"
  trap 'scripts/kafka.sh stop' EXIT
fi
