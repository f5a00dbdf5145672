#pragma once

#include "metrics/registry.h"
#include "metrics/shard_metrics.h"

// The process_* series of client_golang's process collector, read from /proc at scrape time
// (Linux). Any thread; reads files only.
namespace gyre::metrics {

// Sets process_cpu_seconds_total, process_open_fds, process_max_fds,
// process_resident_memory_bytes, process_virtual_memory_bytes,
// process_virtual_memory_max_bytes and process_start_time_seconds in `out`. A value that
// cannot be read (no /proc) is left out, as the Go collector does.
void collect_process(const Registry& registry, Snapshot& out);

}  // namespace gyre::metrics
