#!/bin/busybox sh
# swaplab guest /init.  Settings come from /run.conf (written by swaplab.capture.runner, values
# validated on the host); the workload from /workload.txt (swaplab.capture.encode).
# Everything it writes goes to /out, which leaves the guest as a tar on /dev/vdb; the ftrace
# stream leaves over the virtio-serial port named "trace0".  Console lines "SWAPLAB-..." tell
# the host how far the guest got.
/bin/busybox mkdir -p /bin /sbin /proc /sys /dev /tmp /out
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup
. /run.conf
O=/out
log() { echo "$(cut -d' ' -f1 /proc/uptime) $*" >> $O/init.log; }
fail() { log "FAIL $*"; echo "SWAPLAB-FAIL $*"; finish; }
finish() {
  dmesg > $O/dmesg.txt
  tar -cf /dev/vdb -C /out . && sync
  echo "SWAPLAB-END"
  poweroff -f
}
echo "SWAPLAB-BOOTED $(uname -r)"
log "kernel $(uname -r) nproc $(nproc) cmdline $(cat /proc/cmdline)"

# --- modules (dependency order computed on the host; empty when built in) ---
for m in $(cat /modules/order 2>/dev/null); do
  insmod /modules/$m.ko 2>>$O/init.log || fail "insmod $m failed"
  log "insmod $m"
done
i=0; while [ ! -b /dev/vdb ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
[ -b /dev/vdb ] || { echo "SWAPLAB-FAIL no /dev/vdb (virtio_blk missing?)"; poweroff -f; }

# --- machine knobs: set what the scenario asks, record what the kernel reports ---
setk() {  # setk <file> <value>: write if the file exists; SKIP when the kernel lacks it
  if [ -e "$1" ]; then echo "$2" > "$1" 2>>$O/init.log || log "set $1=$2 failed"
  else log "SKIP $1 (absent)"; fi
}
setk /proc/sys/vm/page-cluster "$PAGE_CLUSTER"
setk /sys/kernel/mm/swap/vma_ra_enabled "$VMA_RA"
setk /sys/kernel/mm/lru_gen/enabled "$MGLRU"
setk /sys/kernel/mm/transparent_hugepage/enabled "$THP"
setk /proc/sys/vm/swappiness "$SWAPPINESS"
rd() { [ -e "$1" ] && tr '\n' ' ' < "$1" | sed 's/ *$//' || echo absent; }
{
  echo "page_cluster=$(rd /proc/sys/vm/page-cluster)"
  echo "vma_ra_enabled=$(rd /sys/kernel/mm/swap/vma_ra_enabled)"
  echo "lru_gen_enabled=$(rd /sys/kernel/mm/lru_gen/enabled)"
  echo "thp_enabled=$(rd /sys/kernel/mm/transparent_hugepage/enabled)"
  echo "swappiness=$(rd /proc/sys/vm/swappiness)"
  echo "zswap_enabled=$(rd /sys/module/zswap/parameters/enabled)"
  echo "nproc=$(nproc)"
  echo "memtotal_kb=$(grep MemTotal /proc/meminfo | tr -s ' ' | cut -d' ' -f2)"
} > $O/knobs.txt

# --- swap ---
case "$SWAP_DEVICE" in
  disk) mkswap /dev/vda >/dev/null 2>>$O/init.log && swapon /dev/vda 2>>$O/init.log \
          || fail "swapon /dev/vda failed";;
  zram) echo "$SWAP_BYTES" > /sys/block/zram0/disksize 2>>$O/init.log || fail "zram0 disksize"
        mkswap /dev/zram0 >/dev/null && swapon /dev/zram0 || fail "swapon /dev/zram0 failed";;
esac
log "swaps $(tail -n +2 /proc/swaps | tr -s ' \t' ' ' | tr '\n' ';')"

# --- cgroup v2 ---
echo +memory > /sys/fs/cgroup/cgroup.subtree_control || fail "memory controller unavailable"
CG=/sys/fs/cgroup/swaplab; mkdir $CG
echo "$MEMORY_MAX" > $CG/memory.max || fail "memory.max=$MEMORY_MAX"
echo "$SWAP_MAX" > $CG/memory.swap.max || fail "memory.swap.max=$SWAP_MAX"
echo "$SWAP_HIGH" > $CG/memory.swap.high || fail "memory.swap.high=$SWAP_HIGH"
log "cgroup memory.max=$(cat $CG/memory.max) swap.max=$(cat $CG/memory.swap.max) swap.high=$(cat $CG/memory.swap.high)"

# --- extra counter files (patched kernels): globs expanded here, one path per line ---
: > /extra.list
for g in $EXTRA_FILES; do for f in $g; do [ -f "$f" ] && echo "$f" >> /extra.list; done; done
cp /extra.list $O/extra.list

# --- ftrace: events (vmscan, oom) and kprobes checked against kallsyms ---
T=/sys/kernel/tracing
TRACEPID=
if [ "$TRACE" != none ] && [ -d $T/events ]; then
  echo 0 > $T/tracing_on; echo > $T/trace
  echo $TRACE_BUF_KB > $T/buffer_size_kb
  echo mono > $T/trace_clock
  for e in vmscan oom; do [ -d $T/events/$e ] && echo 1 > $T/events/$e/enable; done
  if [ "$TRACE" = kprobes ]; then
    : > $O/kprobes.txt
    while read -r kp; do
      case "$kp" in ''|'#'*) continue;; esac
      sym=$(echo "$kp" | cut -d' ' -f2)
      if ! grep -q " $sym\$" /proc/kallsyms; then echo "MISSING $kp" >> $O/kprobes.txt; continue; fi
      if echo "$kp" >> $T/kprobe_events 2>/dev/null; then echo "OK $kp" >> $O/kprobes.txt
      else echo "FAILED $kp" >> $O/kprobes.txt; fi
    done < /kprobes.txt
    [ -d $T/events/swp ] && echo 1 > $T/events/swp/enable
  fi
  TP=$(for d in /sys/class/virtio-ports/*; do [ "$(cat $d/name 2>/dev/null)" = trace0 ] && basename $d; done)
  [ -n "$TP" ] || fail "no virtio-serial port trace0"
  echo 1 > $T/tracing_on
  cat $T/trace_pipe > /dev/$TP &
  TRACEPID=$!
fi

# --- sampler + workload ---
/sampler $SAMPLE_MS $O/samples.txt $CG /tmp/stop &
SPID=$!
echo "SWAPLAB-WORKLOAD-START"
/swapwl /workload.txt $CG $O/snapshots.txt > $O/workload.log 2>&1
echo "rc=$?" > $O/workload.rc
echo "SWAPLAB-WORKLOAD-END $(cat $O/workload.rc)"
touch /tmp/stop; wait $SPID
if [ -n "$TRACEPID" ]; then
  echo 0 > $T/tracing_on
  cat $T/per_cpu/cpu*/stats > $O/trace_stats.txt 2>/dev/null
  # let trace_pipe drain (the reader is slow under TCG): wait until no entries are left
  i=0; while [ $i -lt 600 ] && grep -h '^entries' $T/per_cpu/cpu*/stats | grep -qv ' 0$'; do
    sleep 0.2; i=$((i+1)); done
  sleep 0.5; kill $TRACEPID 2>/dev/null; wait $TRACEPID 2>/dev/null
  log "trace drained after $i polls"
fi
cat /proc/vmstat > $O/vmstat.final
cat $CG/memory.stat > $O/memory.stat.final
cat $CG/memory.events > $O/memory.events.final
finish
