#!/usr/bin/env bash
# Start, stop or check a single-node Apache Kafka broker (KRaft) whose jars come from Maven Central.
#   scripts/kafka.sh start|stop|status|fetch
# KAFKA_PORT (default 9092) and KAFKA_HOME (default .cache/kafka) choose where it listens and lives.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
port="${KAFKA_PORT:-9092}"
controller_port="${KAFKA_CONTROLLER_PORT:-$((port + 1))}"
sasl_port="${KAFKA_SASL_PORT:-$((port + 2))}"  # SASL_PLAINTEXT (PLAIN, user greatwork): server.properties.in
home="${KAFKA_HOME:-$root/.cache/kafka}"
libs="$home/libs"
data="$home/data-$port"
pidfile="$home/broker-$port.pid"
logfile="$home/broker-$port.log"

fetch() {
  if [ -f "$libs/.complete" ] && cmp -s "$here/kafka/pom.xml" "$libs/.pom"; then return 0; fi
  echo "kafka.sh: fetching Apache Kafka jars from Maven Central" >&2
  rm -rf "$libs"; mkdir -p "$libs"
  mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$libs" -DincludeScope=runtime >&2
  cp "$here/kafka/pom.xml" "$libs/.pom"; touch "$libs/.complete"
}

is_up() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

start() {
  fetch
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && is_up; then
    echo "kafka.sh: broker already running on 127.0.0.1:$port" >&2; return 0
  fi
  if is_up; then echo "kafka.sh: port $port is taken by another process" >&2; exit 1; fi
  mkdir -p "$data"
  sed -e "s|@PORT@|$port|g" -e "s|@CONTROLLER_PORT@|$controller_port|g" -e "s|@SASL_PORT@|$sasl_port|g" -e "s|@LOG_DIR@|$data|g" \
    "$here/kafka/server.properties.in" > "$home/server-$port.properties"
  if [ ! -f "$data/meta.properties" ]; then
    local cluster_id
    cluster_id="$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    java -cp "$libs/*" kafka.tools.StorageTool format -t "$cluster_id" -c "$home/server-$port.properties" \
      >/dev/null 2>&1
  fi
  nohup java -Xms256m -Xmx768m -XX:+UseG1GC -Dlog4j2.configurationFile="$here/kafka/log4j2.properties" \
    -cp "$libs/*" kafka.Kafka "$home/server-$port.properties" \
    >>"$logfile" 2>&1 &
  echo $! > "$pidfile"
  for _ in $(seq 1 120); do
    if is_up; then echo "kafka.sh: broker up on 127.0.0.1:$port" >&2; return 0; fi
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then break; fi
    sleep 0.5
  done
  echo "kafka.sh: broker did not start; last lines of $logfile:" >&2; tail -n 30 "$logfile" >&2; exit 1
}

stop() {
  if [ -f "$pidfile" ]; then
    local pid; pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  fetch) fetch ;;
  status) if is_up; then echo "up on 127.0.0.1:$port"; else echo "down"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status|fetch" >&2; exit 2 ;;
esac
