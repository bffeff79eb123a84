#!/bin/sh
# SPDX-License-Identifier: MIT
# A bench workload: redis-server (with the allocator in LD_PRELOAD, as run_bench sets it) under
# redis-benchmark on loopback; the benchmark client itself runs with the system malloc.
set -eu
port=$((21000 + $$ % 20000))
redis-server --port $port --save '' --appendonly no --bind 127.0.0.1 > /dev/null 2>&1 &
pid=$!
client() { env -u LD_PRELOAD "$@"; }
for i in $(seq 50); do client redis-cli -p $port ping > /dev/null 2>&1 && break; sleep 0.1; done
client redis-benchmark -p $port -q -n 100000 -c 50 -P 16 -d 100 -t set,get,lpush,lpop,sadd,hset,incr > /dev/null
client redis-benchmark -p $port -q -n 20000 -c 20 -d 4000 -t set,get > /dev/null
client redis-cli -p $port shutdown nosave > /dev/null 2>&1 || true
wait $pid || true
