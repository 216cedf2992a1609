#!/bin/sh
# The compose file's Kafka broker, on the official apache/kafka image, with the settings of
# scripts/kafka.sh: one combined broker+controller (KRaft), clients authenticated with SASL
# SCRAM-SHA-512, StandardAuthorizer, super users `attache` and `broker`. The image's own start
# script formats storage without SCRAM users, and a SCRAM user can only be created through a running
# broker by a super user who already has one, or at format time (KIP-900). So this script writes
# server.properties, formats the data volume (once) with both credentials, and starts the broker.
# Environment: CLUSTER_ID, ATTACHE_KAFKA_PASSWORD (the super user `attache`, which Attache
# administers the cluster as), ATTACHE_KAFKA_BROKER_PASSWORD (the broker's own user `broker`).
# The credentials are recorded when the volume is formatted: changing a password later takes a new,
# empty volume (see docs/kafka.md).
# Files: /opt/kafka/config/attache/server.properties, and client.properties (the super user's client
# settings, which the healthcheck uses); both 0600 and rewritten on every start.
set -eu
umask 077

CONF=/opt/kafka/config/attache
DATA=/var/lib/kafka/data

die() { echo "kafka: $*" >&2; exit 1; }

case "${CLUSTER_ID:-}" in
  '' | -* | *[!A-Za-z0-9_-]*) die "CLUSTER_ID must be a Kafka cluster id (22 characters of URL-safe base64)" ;;
esac
# The passwords go into JAAS settings and --add-scram arguments unquoted.
for name in ATTACHE_KAFKA_PASSWORD ATTACHE_KAFKA_BROKER_PASSWORD; do
  eval "value=\${$name:-}"
  case "$value" in
    '' | *[!A-Za-z0-9._~-]*) die "$name must be set, and only letters, digits, '.', '_', '~' or '-'" ;;
  esac
done
ADMIN_PW="$ATTACHE_KAFKA_PASSWORD"
BROKER_PW="$ATTACHE_KAFKA_BROKER_PASSWORD"

mkdir -p "$CONF"
cat >"$CONF/server.properties" <<PROPS
# Written by docker/kafka/start.sh on every start; edits here are lost.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9093
controller.listener.names=CONTROLLER
# Clients in the compose network reach the broker as kafka:9092; the controller listens only inside
# the container.
listeners=CLIENT://0.0.0.0:9092,CONTROLLER://127.0.0.1:9093
advertised.listeners=CLIENT://kafka:9092
listener.security.protocol.map=CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
inter.broker.listener.name=CLIENT

# Clients (and the broker to itself) authenticate with SCRAM-SHA-512. The credentials live in the
# metadata log: 'attache' and 'broker' were added when the storage was formatted.
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="$BROKER_PW";
# Broker to controller: PLAIN with a static user, so forwarded admin requests arrive as
# User:broker rather than User:ANONYMOUS (the controller authorizes the forwarding broker first).
listener.name.controller.sasl.enabled.mechanisms=PLAIN
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" password="$BROKER_PW" user_broker="$BROKER_PW";
# Sessions must re-authenticate this often, so a deleted or rotated credential stops working on
# connections that are already open.
connections.max.reauth.ms=60000

authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:attache;User:broker
allow.everyone.if.no.acl.found=false
auto.create.topics.enable=false
delete.topic.enable=true

log.dirs=$DATA
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
offsets.topic.num.partitions=10
transaction.state.log.num.partitions=10
share.coordinator.state.topic.num.partitions=10
group.initial.rebalance.delay.ms=0
PROPS

cat >"$CONF/client.properties" <<PROPS
# The super user's client settings, e.g.
#   /opt/kafka/bin/kafka-topics.sh --bootstrap-server kafka:9092 --command-config $CONF/client.properties --list
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="attache" password="$ADMIN_PW";
request.timeout.ms=5000
default.api.timeout.ms=10000
PROPS

# --ignore-formatted: a volume formatted by an earlier start keeps its cluster and credentials.
/opt/kafka/bin/kafka-storage.sh format --ignore-formatted -t "$CLUSTER_ID" -c "$CONF/server.properties" \
  --add-scram "SCRAM-SHA-512=[name=attache,password=$ADMIN_PW]" \
  --add-scram "SCRAM-SHA-512=[name=broker,password=$BROKER_PW]"

export KAFKA_HEAP_OPTS="-Xms256m -Xmx512m"
exec /opt/kafka/bin/kafka-server-start.sh "$CONF/server.properties"
