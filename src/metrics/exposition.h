#pragma once

#include <string>

#include "metrics/registry.h"
#include "metrics/shard_metrics.h"

// Prometheus text exposition format 0.0.4, printed as Go's client library (client_golang,
// expfmt) prints it, so that dashboards and scrapers built for Centrifugo see the same text:
// families sorted by name, series by label values, numbers in Go's shortest 'g' form.
// Families without series are left out. Pure functions: thread-safe.
namespace gyre::metrics {

// As Centrifugo v5.4.9 (client_golang 1.20) answers a scraper without Accept preferences.
inline constexpr std::string_view kContentType =
    "text/plain; version=0.0.4; charset=utf-8; escaping=underscores";

// The text of every family of `registry` that has series in `values`.
std::string expose(const Registry& registry, const Snapshot& values);

// A sample value as Go's strconv.FormatFloat(v, 'g', -1, 64): "3", "0.25", "1.8746e-05",
// "7.092224e+07", "+Inf", "NaN".
std::string format_value(double v);

}  // namespace gyre::metrics
