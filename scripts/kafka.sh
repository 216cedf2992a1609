#!/usr/bin/env bash
# Attache's own Apache Kafka 4 broker: one combined broker+controller (KRaft) on 127.0.0.1, clients
# authenticated with SASL SCRAM-SHA-512, StandardAuthorizer, super user `attache`. Reuses a running
# broker, starts a stopped one, fetches (Maven Central) and formats only what is missing.
#   bash scripts/kafka.sh          make sure the broker runs; prints one line:
#                                  kafka: broker on 127.0.0.1:<port> (reused|started|created|recreated)
#   bash scripts/kafka.sh stop     stop it (SIGTERM, then wait for a clean shutdown)
# Settings: ATTACHE_KAFKA_PORT (client listener, default 9094), ATTACHE_KAFKA_CONTROLLER_PORT
# (default client port + 1), ATTACHE_KAFKA_HOME (state and cache directory; default
# /var/lib/attache/kafka as root, else ${XDG_STATE_HOME:-~/.local/state}/attache/kafka).
# Layout of $ATTACHE_KAFKA_HOME (libs/testing and the provisioner read the same):
#   kafka-<version>/libs/     the jars scripts/kafka/pom.xml resolves (fetched once per pom)
#   attache.password          the super user's SCRAM password (0600); broker.password likewise
#   attache.properties        Kafka client settings for the super user, for the admin tools (0600)
#   server.properties  log4j2.properties  tools-log4j2.properties  cluster.id  data/  kafka.log
#   kafka.log.1 (the previous start's)  kafka.pid  probe.err (the last readiness check's errors)
set -euo pipefail
umask 077

HERE="$(cd "$(dirname "$0")" && pwd)"
POM="$HERE/kafka/pom.xml"
START_TIMEOUT_S=90
STOP_TIMEOUT_S=60
AUTH_GRACE_S=15
HEAP_OPTS=(-Xms256m -Xmx512m)
# The tarball's defaults (kafka-run-class.sh) minus GC logging, plus exiting on OutOfMemoryError so
# that the next run starts a fresh broker instead of reusing a wedged one.
JVM_OPTS=(-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
  -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true)
# The admin tools only need to start fast.
TOOL_OPTS=(-Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true)

say() { echo "kafka: $*"; }
die() { echo "kafka: $*" >&2; exit 1; }

case "${1:-start}" in
  start | stop) ACTION="${1:-start}" ;;
  *) die "usage: $0 [start|stop]" ;;
esac

PORT="${ATTACHE_KAFKA_PORT:-9094}"
[[ "$PORT" =~ ^[0-9]{1,5}$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65534 ] || die "bad ATTACHE_KAFKA_PORT '$PORT'"
CONTROLLER_PORT="${ATTACHE_KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
[[ "$CONTROLLER_PORT" =~ ^[0-9]{1,5}$ ]] && [ "$CONTROLLER_PORT" -ge 1 ] && [ "$CONTROLLER_PORT" -le 65535 ] ||
  die "bad ATTACHE_KAFKA_CONTROLLER_PORT '$CONTROLLER_PORT'"
[ "$PORT" != "$CONTROLLER_PORT" ] || die "the client and controller ports must differ (both $PORT)"

if [ "$(id -u)" = 0 ]; then
  DEFAULT_BASE=/var/lib/attache/kafka
else
  DEFAULT_BASE="${XDG_STATE_HOME:-$HOME/.local/state}/attache/kafka"
fi
BASE="$(realpath -m -- "${ATTACHE_KAFKA_HOME:-$DEFAULT_BASE}")"

KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\([^<]*\)</kafka.version>.*:\1:p' "$POM")"
[ -n "$KAFKA_VERSION" ] || die "no <kafka.version> in $POM"
DIST="$BASE/kafka-$KAFKA_VERSION"
LIBS="$DIST/libs"
CP="$LIBS/*"
PROBE_CP="$CP"
PROPS="$BASE/server.properties"
LOG="$BASE/kafka.log"
PIDFILE="$BASE/kafka.pid"
DATA="$BASE/data"

port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

new_secret() {
  local s=""
  while [ "${#s}" -lt 48 ]; do
    s+="$(head -c 256 /dev/urandom | tr -dc 'A-Za-z0-9' || true)"
  done
  printf '%s' "${s:0:48}"
}

# A Kafka cluster id: 16 random bytes, URL-safe base64 without padding. Like Kafka's own
# Uuid.randomUuid, avoid a leading '-', which command-line parsers take for an option.
new_cluster_id() {
  local id="-"
  while [ "${id:0:1}" = "-" ]; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
  done
  printf '%s' "$id"
}

# The pid of this state directory's broker, if one runs: the pid file, else a scan of /proc (the
# pid file may be gone while the broker still runs).
broker_pid() {
  local pid cmd
  if [ -s "$PIDFILE" ]; then
    pid="$(cat "$PIDFILE")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && cmd="$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null)" &&
      [[ "$cmd" == *" kafka.Kafka $PROPS"* ]]; then
      echo "$pid"
      return 0
    fi
  fi
  for f in /proc/[0-9]*/cmdline; do
    cmd="$({ tr '\0' ' ' <"$f"; } 2>/dev/null)" || continue
    if [[ "$cmd" == *" kafka.Kafka $PROPS"* ]]; then
      pid="${f#/proc/}"
      echo "${pid%/cmdline}"
      return 0
    fi
  done
  return 1
}

fetch_libs() {
  # The marker holds the pom's hash, so editing the pom (a dependency, Log4j) fetches again.
  local want have=""
  want="$(sha256sum "$POM" | cut -d' ' -f1)"
  [ -f "$DIST/.fetched" ] && have="$(cat "$DIST/.fetched")"
  [ "$want" = "$have" ] && [ -d "$LIBS" ] && return 0
  command -v mvn >/dev/null || die "Maven (mvn) is needed to fetch Kafka $KAFKA_VERSION from Maven Central"
  mkdir -p "$DIST"
  rm -rf "$LIBS.tmp"
  local out
  if ! out="$(mvn -B -q -f "$POM" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$LIBS.tmp" 2>&1 </dev/null)"; then
    echo "$out" >&2
    die "could not fetch Kafka $KAFKA_VERSION with Maven (see above)"
  fi
  ls "$LIBS.tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || die "Maven fetched no kafka_2.13-$KAFKA_VERSION.jar into $LIBS.tmp"
  rm -rf "$LIBS"
  mv "$LIBS.tmp" "$LIBS"
  echo "$want" >"$DIST/.fetched"
}

check_java() {
  command -v java >/dev/null || die "Java 17 or newer is needed (Kafka 4 brokers require it)"
  local v
  v="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  [ "${v%%.*}" -ge 17 ] 2>/dev/null || die "Kafka 4 brokers need Java 17 or newer; 'java' is ${v:-unknown}"
}

write_log_config() {
  # A properties file: unlike Kafka's own log4j2.yaml, it needs no YAML support on the classpath.
  # Quiet by default; keeps the lines that explain a start, a stop, a failed login or a denial.
  cat >"$BASE/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = STDOUT
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
logger.auth.name = org.apache.kafka.common.network.Selector
logger.auth.level = INFO
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = INFO
EOF
  # The admin tools print only errors.
  cat >"$BASE/tools-log4j2.properties" <<'EOF'
status = error
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = %p %m (%c)%n
rootLogger.level = ERROR
rootLogger.appenderRef.err.ref = STDERR
EOF
}

# server.properties for the one combined node; $1 = file, $2 = log directory.
write_server_properties() {
  local file=$1 logdir=$2 broker_pw
  broker_pw="$(cat "$BASE/broker.password")"
  cat >"$file" <<EOF
# Written by scripts/kafka.sh on every start; edits here are lost.
process.roles=broker,controller
node.id=1
# A static one-voter quorum: the controller port can change between starts, which a dynamic
# quorum (format --standalone) would have recorded in the metadata log.
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=CLIENT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=CLIENT://127.0.0.1:$PORT
listener.security.protocol.map=CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
inter.broker.listener.name=CLIENT

# Clients (and the broker to itself) authenticate with SCRAM-SHA-512. The credentials live in the
# metadata log: 'attache' and 'broker' were added when the storage was formatted.
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="$broker_pw";
# Broker to controller: PLAIN with a static user, so forwarded admin requests arrive as
# User:broker rather than User:ANONYMOUS (the controller authorizes the forwarding broker first).
listener.name.controller.sasl.enabled.mechanisms=PLAIN
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" password="$broker_pw" user_broker="$broker_pw";
# Sessions must re-authenticate this often, so a deleted or rotated credential stops working on
# connections that are already open.
connections.max.reauth.ms=60000

authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:attache;User:broker
allow.everyone.if.no.acl.found=false
auto.create.topics.enable=false
delete.topic.enable=true

log.dirs=$logdir
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Fewer internal partitions than the defaults (50): one small node, faster first group use.
offsets.topic.num.partitions=10
transaction.state.log.num.partitions=10
share.coordinator.state.topic.num.partitions=10
group.initial.rebalance.delay.ms=0
EOF
  chmod 0600 "$file"
}

write_client_properties() {
  cat >"$BASE/attache.properties" <<EOF
# Kafka client settings for the super user, e.g.
#   java -cp '$CP' org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:$PORT --command-config $BASE/attache.properties --list
bootstrap.servers=127.0.0.1:$PORT
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="attache" password="$(cat "$BASE/attache.password")";
request.timeout.ms=5000
default.api.timeout.ms=10000
EOF
  chmod 0600 "$BASE/attache.properties"
}

format_storage() {
  [ -s "$BASE/cluster.id" ] || new_cluster_id >"$BASE/cluster.id"
  local tmp="$BASE/data.format" out
  rm -rf "$tmp"
  write_server_properties "$BASE/format.properties" "$tmp"
  # SCRAM users can only be created through a running broker, except at format time (KIP-900):
  # this is how the first super user gets its credential.
  if ! out="$(java "${TOOL_OPTS[@]}" -Dlog4j2.configurationFile="file:$BASE/tools-log4j2.properties" -cp "$CP" \
    kafka.tools.StorageTool format -t "$(cat "$BASE/cluster.id")" -c "$BASE/format.properties" \
    --add-scram "SCRAM-SHA-512=[name=attache,password=$(cat "$BASE/attache.password")]" \
    --add-scram "SCRAM-SHA-512=[name=broker,password=$(cat "$BASE/broker.password")]" 2>&1 </dev/null)"; then
    rm -f "$BASE/format.properties"
    echo "$out" >&2
    die "formatting $tmp failed (see above)"
  fi
  rm -f "$BASE/format.properties"
  # meta.properties records no path: only a fully formatted directory gets the real name.
  mv "$tmp" "$DATA"
}

start_broker() {
  local p
  for p in "$PORT" "$CONTROLLER_PORT"; do
    port_answers "$p" && die "port $p is in use by something other than this broker ($BASE): stop it or set ATTACHE_KAFKA_PORT / ATTACHE_KAFKA_CONTROLLER_PORT"
  done
  write_server_properties "$PROPS" "$DATA"
  write_client_properties
  [ -f "$LOG" ] && mv -f "$LOG" "$LOG.1"
  # setsid: a Ctrl-C in the shell that ran us must not stop the broker. 9>&-: the broker must not
  # inherit the lock descriptor, or it would hold the lock for its lifetime.
  setsid java "${HEAP_OPTS[@]}" "${JVM_OPTS[@]}" -Dlog4j2.configurationFile="file:$BASE/log4j2.properties" \
    -Dkafka.logs.dir="$BASE" -cp "$CP" kafka.Kafka "$PROPS" >"$LOG" 2>&1 </dev/null 9>&- &
  echo $! >"$PIDFILE"
}

# One real SCRAM login plus an admin request (list topics) as the super user.
admin_answers() {
  timeout 30 java "${TOOL_OPTS[@]}" -Dlog4j2.configurationFile="file:$BASE/tools-log4j2.properties" -cp "$PROBE_CP" \
    org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$PORT" \
    --command-config "$BASE/attache.properties" --list >/dev/null 2>"$BASE/probe.err" </dev/null
}

# Returns 0 once the super user's admin request succeeds, 2 when the broker keeps refusing the
# super user's password (its metadata no longer holds the credential in attache.password).
wait_ready() {
  local pid=$1 deadline=$((SECONDS + START_TIMEOUT_S)) refused_since=""
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$LOG" >&2 || true
      die "the broker exited while starting; see $LOG"
    fi
    if port_answers "$PORT" && admin_answers; then
      return 0
    fi
    grep -q 'Could not find or load main class' "$BASE/probe.err" 2>/dev/null &&
      die "the Kafka admin tools do not start: $(head -n 1 "$BASE/probe.err")"
    # A broker still loading its metadata can refuse a login briefly; a persistent refusal is final.
    if grep -q 'SaslAuthenticationException' "$BASE/probe.err" 2>/dev/null; then
      refused_since="${refused_since:-$SECONDS}"
      if [ $((SECONDS - refused_since)) -ge "$AUTH_GRACE_S" ]; then
        grep -vE '^\s+at ' "$BASE/probe.err" | head -n 3 >&2
        return 2
      fi
    else
      refused_since=""
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      cat "$BASE/probe.err" >&2 2>/dev/null || true
      die "the broker does not accept an authenticated admin request on 127.0.0.1:$PORT after ${START_TIMEOUT_S}s; see $LOG"
    fi
    sleep 0.5
  done
}

# The formatted cluster refuses the super user whose password is on file (its metadata and the
# password files come from different formats, e.g. a partly restored state directory). Nothing
# can reset a SCRAM credential without a working super user, so keep that cluster's data aside and
# start a new, empty one.
recreate_cluster() {
  local aside
  aside="$DATA.unusable-$(date -u +%Y%m%dT%H%M%SZ)"
  echo "kafka: the broker in $BASE refuses the super user in attache.password; moving its data to $aside and formatting a new, empty cluster" >&2
  stop_broker >/dev/null
  PROBE_CP="$CP"
  mv "$DATA" "$aside"
  rm -f "$BASE/cluster.id"
  format_storage
  start_broker
  wait_ready "$(cat "$PIDFILE")" ||
    die "a newly formatted broker refuses the super user too; see $LOG and $BASE/probe.err"
}

ensure_running() {
  local pid outcome
  if pid="$(broker_pid)"; then
    echo "$pid" >"$PIDFILE"
    local want="listeners=CLIENT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT"
    grep -qxF "$want" "$PROPS" ||
      die "the broker in $BASE runs with $(grep '^listeners=' "$PROPS" || echo 'other listeners'), not ports $PORT/$CONTROLLER_PORT: run '$0 stop' first or use its ports"
    write_client_properties
    # After a version bump in the pom, a broker started earlier keeps its old jars until stopped;
    # check it with its own jars, which are the ones on disk.
    local running_cp
    running_cp="$(tr '\0' '\n' <"/proc/$pid/cmdline" | grep -A1 -xF -- -cp | tail -n 1)"
    if [ "$running_cp" != "$CP" ]; then
      echo "kafka: note: the running broker is not Kafka $KAFKA_VERSION; '$0 stop' and run again to switch" >&2
      PROBE_CP="$running_cp"
    fi
    outcome=reused
    wait_ready "$pid" || { recreate_cluster; outcome=recreated; }
    say "broker on 127.0.0.1:$PORT ($outcome)"
    return 0
  fi

  check_java
  fetch_libs
  write_log_config
  if [ -f "$DATA/meta.properties" ]; then
    for f in attache.password broker.password; do
      [ -s "$BASE/$f" ] || die "$BASE/$f is missing but $DATA holds a formatted cluster whose credentials it matched: restore it, or remove $DATA to start a new, empty cluster"
    done
    outcome=started
  else
    [ ! -e "$DATA" ] || die "$DATA exists but was never formatted (no meta.properties); move it away"
    for f in attache.password broker.password; do
      [ -s "$BASE/$f" ] || new_secret >"$BASE/$f"
      chmod 0600 "$BASE/$f"
    done
    format_storage
    outcome=created
  fi
  start_broker
  wait_ready "$(cat "$PIDFILE")" || { recreate_cluster; outcome=recreated; }
  say "broker on 127.0.0.1:$PORT ($outcome)"
}

stop_broker() {
  local pid
  if ! pid="$(broker_pid)"; then
    rm -f "$PIDFILE"
    say "no broker running ($BASE)"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT_S))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      kill -KILL "$pid" 2>/dev/null || true
      echo "kafka: the broker (pid $pid) did not stop within ${STOP_TIMEOUT_S}s and was killed; see $LOG" >&2
      break
    fi
    sleep 0.2
  done
  rm -f "$PIDFILE"
  say "broker stopped (pid $pid)"
}

# Parents keep the usual modes (scripts/postgres-clusters.sh needs /var/lib/attache searchable).
(umask 022 && mkdir -p "$(dirname "$BASE")")
mkdir -p "$BASE"
chmod 0700 "$BASE"
exec 9>"$BASE/.lock"
flock -w 600 9 || die "timed out waiting for another run holding $BASE/.lock"

if [ "$ACTION" = stop ]; then
  stop_broker
else
  ensure_running
fi
