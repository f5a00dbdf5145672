#include "load/options.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace gyre::bench {
namespace {

constexpr const char* kUsage = R"(gyre-load: WebSocket fan-out load generator for Gyre, nginx+Nchan and nats-server.

Usage: gyre-load [options]

Target:
  --target gyre|nchan|nats   server protocol (default gyre)
  --host H                   loopback address (default 127.0.0.1)
  --port P                   WebSocket port (gyre/nchan: also the HTTP publish port; default 8000)
  --pub-port P               publisher port (default: --port; nats: 4222)
  --alt-port P               gyre: every second subscriber connects to this port instead of
                             --port (a second node of a cluster); default: none
  --ws-path PATH             gyre: /connection/websocket; nchan: /sub/ (+channel); nats: /
  --pub-path PATH            gyre: API prefix /api; nchan: /pub/ (+channel)
  --protobuf                 gyre: use the centrifuge-protobuf subprotocol
  --hmac-secret S            gyre: sign HS256 connection tokens (user bench-<i>)
  --insecure                 gyre: connect without a token (client_insecure server)
  --api-key K                gyre: X-API-Key for the HTTP API

Scenario:
  --clients N                subscriber connections (default 100)
  --channels C               channels bench-0..bench-C-1; client i joins bench-(i % C) (default 1)
  --messages M               total publications (default 1000; 0 = no publish phase)
  --rate R                   publications/s (default 0 = as fast as possible)
  --payload-size B           publication payload bytes (default 100)
  --publishers P             publisher connections (default 1)
  --publish-via http|client  gyre: HTTP API (default) or client-protocol publish commands
  --batch N                  gyre: publications per /api/batch or per WebSocket frame;
                             nats: PUBs per write (default 1)
  --pipeline D               requests in flight per publisher connection (default 1)
  --duration S               cap on the publish phase in seconds (default 60)
  --connect-only             connect+subscribe storm only: connects/s and failures
  --idle S                   hold the connections S seconds: server CPU and RSS while idle
  --connect-concurrency K    handshakes in flight (default 256)
  --connect-timeout S        connect phase limit (default 60)
  --drain-timeout S          wait for missing deliveries after the last publish (default 5)
  --settle S                 pause between subscribing and publishing (default 0.2)

Measurement and output:
  --server-pid PID           server process to sample in /proc (repeatable: nginx master+worker)
  --json                     also print one JSON line with every figure
  --quiet                    no progress lines on stderr
  --self-test                run the codec/parser self-tests and exit
  --write-nchan-config DIR   write DIR/nginx.conf for nginx+Nchan on --port and exit
)";

bool to_int(const char* s, int64_t& v) {
  char* end = nullptr;
  v = std::strtoll(s, &end, 10);
  return end && *end == '\0' && end != s;
}

bool to_double(const char* s, double& v) {
  char* end = nullptr;
  v = std::strtod(s, &end);
  return end && *end == '\0' && end != s;
}

bool is_loopback(const std::string& host) {
  if (host == "localhost") {
    return true;
  }
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) != 1) {
    return false;
  }
  return (ntohl(a.s_addr) >> 24) == 127;
}

}  // namespace

const char* target_name(Target t) {
  switch (t) {
    case Target::kGyre:
      return "gyre";
    case Target::kNchan:
      return "nchan";
    case Target::kNats:
      return "nats";
  }
  return "?";
}

std::optional<Options> parse_options(int argc, char** argv, int& exit_code) {
  Options o;
  exit_code = 2;
  auto fail = [&](const char* what, const char* arg) {
    std::fprintf(stderr, "gyre-load: %s: %s (see --help)\n", what, arg);
    return std::nullopt;
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    std::string inline_value;
    bool has_inline = false;
    if (auto eq = a.find('='); a.starts_with("--") && eq != std::string_view::npos) {
      inline_value = std::string(a.substr(eq + 1));
      a = a.substr(0, eq);
      has_inline = true;
    }
    auto value = [&]() -> const char* {
      if (has_inline) {
        return inline_value.c_str();
      }
      if (i + 1 >= argc) {
        return nullptr;
      }
      return argv[++i];
    };
    int64_t iv = 0;
    double dv = 0;
    auto int_opt = [&](auto& field, int64_t min) -> bool {
      const char* v = value();
      if (!v || !to_int(v, iv) || iv < min) {
        return false;
      }
      field = static_cast<std::remove_reference_t<decltype(field)>>(iv);
      return true;
    };
    auto double_opt = [&](double& field) -> bool {
      const char* v = value();
      if (!v || !to_double(v, dv) || dv < 0) {
        return false;
      }
      field = dv;
      return true;
    };
    auto str_opt = [&](std::string& field) -> bool {
      const char* v = value();
      if (!v) {
        return false;
      }
      field = v;
      return true;
    };
    bool ok = true;
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      exit_code = 0;
      return std::nullopt;
    } else if (a == "--target") {
      std::string t;
      ok = str_opt(t);
      if (t == "gyre") {
        o.target = Target::kGyre;
      } else if (t == "nchan") {
        o.target = Target::kNchan;
      } else if (t == "nats") {
        o.target = Target::kNats;
      } else {
        return fail("unknown target", t.c_str());
      }
    } else if (a == "--host") {
      ok = str_opt(o.host);
    } else if (a == "--port") {
      ok = int_opt(o.port, 1);
    } else if (a == "--pub-port") {
      ok = int_opt(o.pub_port, 1);
    } else if (a == "--alt-port") {
      ok = int_opt(o.alt_port, 1);
    } else if (a == "--ws-path") {
      ok = str_opt(o.ws_path);
    } else if (a == "--pub-path") {
      ok = str_opt(o.pub_path);
    } else if (a == "--protobuf") {
      o.protobuf = true;
    } else if (a == "--insecure") {
      o.insecure = true;
    } else if (a == "--hmac-secret") {
      ok = str_opt(o.hmac_secret);
    } else if (a == "--api-key") {
      ok = str_opt(o.api_key);
    } else if (a == "--clients") {
      ok = int_opt(o.clients, 0);
    } else if (a == "--channels") {
      ok = int_opt(o.channels, 1);
    } else if (a == "--messages") {
      ok = int_opt(o.messages, 0);
    } else if (a == "--rate") {
      ok = double_opt(o.rate);
    } else if (a == "--payload-size") {
      ok = int_opt(o.payload_size, 1);
    } else if (a == "--publishers") {
      ok = int_opt(o.publishers, 1);
    } else if (a == "--publish-via") {
      std::string v;
      ok = str_opt(v);
      if (v == "http") {
        o.via = PublishVia::kHttp;
      } else if (v == "client") {
        o.via = PublishVia::kClient;
      } else {
        return fail("unknown --publish-via", v.c_str());
      }
    } else if (a == "--batch") {
      ok = int_opt(o.batch, 1);
    } else if (a == "--pipeline") {
      ok = int_opt(o.pipeline, 1);
    } else if (a == "--duration") {
      ok = double_opt(o.duration);
    } else if (a == "--connect-only") {
      o.connect_only = true;
    } else if (a == "--idle") {
      ok = double_opt(o.idle);
    } else if (a == "--connect-concurrency") {
      ok = int_opt(o.connect_concurrency, 1);
    } else if (a == "--connect-timeout") {
      ok = double_opt(o.connect_timeout);
    } else if (a == "--drain-timeout") {
      ok = double_opt(o.drain_timeout);
    } else if (a == "--settle") {
      ok = double_opt(o.settle);
    } else if (a == "--server-pid") {
      int pid = 0;
      ok = int_opt(pid, 1);
      o.server_pids.push_back(pid);
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--quiet") {
      o.quiet = true;
    } else if (a == "--self-test") {
      o.self_test = true;
    } else if (a == "--write-nchan-config") {
      ok = str_opt(o.nchan_config_dir);
    } else {
      return fail("unknown option", argv[i]);
    }
    if (!ok) {
      return fail("bad or missing value for", std::string(a).c_str());
    }
  }
  if (!is_loopback(o.host)) {
    return fail("only loopback hosts are allowed", o.host.c_str());
  }
  if (o.host == "localhost") {
    o.host = "127.0.0.1";
  }
  if (o.ws_path.empty()) {
    o.ws_path = o.target == Target::kGyre    ? "/connection/websocket"
                : o.target == Target::kNchan ? "/sub/"
                                             : "/";
  }
  if (o.pub_path.empty()) {
    o.pub_path = o.target == Target::kNchan ? "/pub/" : "/api";
  }
  if (o.pub_port == 0) {
    o.pub_port = o.target == Target::kNats ? 4222 : o.port;
  }
  if (o.alt_port != 0 && o.target != Target::kGyre) {
    return fail("--alt-port applies to", "--target gyre");
  }
  if (o.target != Target::kGyre && (o.protobuf || o.via == PublishVia::kClient)) {
    return fail("--protobuf and --publish-via client apply to", "--target gyre");
  }
  if (o.target == Target::kNchan && o.batch > 1) {
    return fail("Nchan has no batch publish; use --pipeline", "--batch");
  }
  if (o.target == Target::kGyre && !o.insecure && o.hmac_secret.empty() && !o.self_test &&
      o.nchan_config_dir.empty()) {
    return fail("gyre needs --hmac-secret or --insecure", "--target gyre");
  }
  exit_code = 0;
  return o;
}

}  // namespace gyre::bench
