#include "load/report.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>

namespace gyre::bench {
namespace {

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<int>(c));
    } else {
      out += c;
    }
  }
  return out;
}

double mib(uint64_t b) { return static_cast<double>(b) / (1024.0 * 1024.0); }

}  // namespace

void print_summary(const Options& o, const Results& r) {
  fmt::print("gyre-load: target={} encoding={} clients={} channels={} publishers={} via={} "
             "batch={} pipeline={} messages={} rate={} payload={}B\n",
             target_name(o.target), o.protobuf ? "protobuf" : "json", o.clients, o.channels,
             o.publishers,
             o.target == Target::kNats ? "nats" : (o.via == PublishVia::kHttp ? "http" : "client"),
             o.batch, o.pipeline, o.connect_only ? 0 : o.messages,
             o.rate > 0 ? fmt::format("{:g}/s", o.rate) : "max", o.payload_size);
  fmt::print("connect:   ok={} failed={} in {:.3f}s = {:.0f} conn/s; connect latency p50={:.2f}ms "
             "p99={:.2f}ms max={:.2f}ms\n",
             r.connect_ok, r.connect_failed, r.connect_seconds, r.connects_per_second,
             r.connect_p50_ms, r.connect_p99_ms, r.connect_max_ms);
  if (!r.first_error.empty()) {
    fmt::print("           first error: {}\n", r.first_error);
  }
  if (r.idle_seconds > 0) {
    fmt::print("idle:      held {:.1f}s\n", r.idle_seconds);
  }
  if (!o.connect_only && o.messages > 0) {
    fmt::print("publish:   acked={} failed={} in {:.3f}s = {:.0f} msg/s\n", r.published,
               r.publish_failed, r.publish_seconds, r.publish_rate);
    if (o.rate > 0 && r.publish_rate < 0.95 * o.rate) {
      fmt::print("           note: below the requested {:g}/s; raise --pipeline or --publishers\n",
                 o.rate);
    }
    fmt::print("deliver:   expected={} received={} lost={} unparsed={} out_of_order={} "
               "disconnects={}\n",
               r.expected, r.received, r.lost, r.unparsed, r.out_of_order, r.disconnects);
    fmt::print("           {:.0f} deliveries/s over {:.3f}s\n", r.deliveries_per_second,
               r.delivery_seconds);
    fmt::print("latency:   p50={:.0f}us p90={:.0f}us p99={:.0f}us max={:.0f}us mean={:.0f}us\n",
               r.latency_p50_us, r.latency_p90_us, r.latency_p99_us, r.latency_max_us,
               r.latency_mean_us);
  }
  if (r.server_sampled) {
    fmt::print("server:    RSS before={:.1f}MiB connected={:.1f}MiB end={:.1f}MiB; "
               "{:.0f} bytes/connection\n",
               mib(r.rss_before_bytes), mib(r.rss_connected_bytes), mib(r.rss_end_bytes),
               r.rss_per_connection_bytes);
    fmt::print("           CPU connect={:.2f}s ({:.0f} conn/CPU-s)", r.connect_cpu_seconds,
               r.connects_per_cpu_second);
    if (r.idle_seconds > 0) {
      fmt::print(" idle={:.2f}s ({:.1f}% of a core)", r.idle_cpu_seconds,
                 100.0 * r.idle_cpu_seconds / r.idle_seconds);
    }
    if (!o.connect_only && o.messages > 0) {
      fmt::print(" publish={:.2f}s ({:.0f} deliveries/CPU-s, {:.2f} CPU-us/delivery)",
                 r.publish_cpu_seconds, r.deliveries_per_cpu_second, r.cpu_us_per_delivery);
    }
    fmt::print("\n");
  }
  fmt::print("tool:      CPU {:.2f}s, wall {:.2f}s\n", r.tool_cpu_seconds, r.wall_seconds);
  std::fflush(stdout);
}

void print_json(const Options& o, const Results& r) {
  std::string j;
  auto add = [&](const char* key, auto value) {
    j += j.empty() ? "{" : ",";
    j += fmt::format("\"{}\":{}", key, value);
  };
  auto add_num = [&](const char* key, double value) {
    add(key, fmt::format("{:.6g}", std::isfinite(value) ? value : 0.0));
  };
  auto add_str = [&](const char* key, const std::string& value) {
    std::string quoted = "\"";
    quoted += json_escape(value);
    quoted += '"';
    add(key, quoted);
  };
  add_str("target", target_name(o.target));
  add_str("encoding", o.protobuf ? "protobuf" : "json");
  add_str("publish_via",
          o.target == Target::kNats ? "nats" : (o.via == PublishVia::kHttp ? "http" : "client"));
  add("clients", o.clients);
  add("channels", o.channels);
  add("publishers", o.publishers);
  add("batch", o.batch);
  add("pipeline", o.pipeline);
  add("messages", o.messages);
  add_num("rate", o.rate);
  add("payload_size", o.payload_size);
  add("connect_only", o.connect_only ? "true" : "false");
  add("connect_ok", r.connect_ok);
  add("connect_failed", r.connect_failed);
  add_num("connect_seconds", r.connect_seconds);
  add_num("connects_per_second", r.connects_per_second);
  add_num("connect_p50_ms", r.connect_p50_ms);
  add_num("connect_p99_ms", r.connect_p99_ms);
  add_num("connect_max_ms", r.connect_max_ms);
  add_str("first_error", r.first_error);
  add("published", r.published);
  add("publish_failed", r.publish_failed);
  add_num("publish_seconds", r.publish_seconds);
  add_num("publish_rate", r.publish_rate);
  add("expected", r.expected);
  add("received", r.received);
  add("lost", r.lost);
  add("unparsed", r.unparsed);
  add("out_of_order", r.out_of_order);
  add("disconnects", r.disconnects);
  add_num("delivery_seconds", r.delivery_seconds);
  add_num("deliveries_per_second", r.deliveries_per_second);
  add_num("latency_p50_us", r.latency_p50_us);
  add_num("latency_p90_us", r.latency_p90_us);
  add_num("latency_p99_us", r.latency_p99_us);
  add_num("latency_max_us", r.latency_max_us);
  add_num("latency_mean_us", r.latency_mean_us);
  add("server_sampled", r.server_sampled ? "true" : "false");
  add("rss_before_bytes", r.rss_before_bytes);
  add("rss_connected_bytes", r.rss_connected_bytes);
  add("rss_end_bytes", r.rss_end_bytes);
  add_num("rss_per_connection_bytes", r.rss_per_connection_bytes);
  add_num("connect_cpu_seconds", r.connect_cpu_seconds);
  add_num("connects_per_cpu_second", r.connects_per_cpu_second);
  add_num("idle_seconds", r.idle_seconds);
  add_num("idle_cpu_seconds", r.idle_cpu_seconds);
  add_num("publish_cpu_seconds", r.publish_cpu_seconds);
  add_num("deliveries_per_cpu_second", r.deliveries_per_cpu_second);
  add_num("cpu_us_per_delivery", r.cpu_us_per_delivery);
  add_num("tool_cpu_seconds", r.tool_cpu_seconds);
  add_num("wall_seconds", r.wall_seconds);
  j += "}\n";
  std::fputs(j.c_str(), stdout);
  std::fflush(stdout);
}

}  // namespace gyre::bench
