#include "transport/ws_upgrade.h"

#include <algorithm>

#include "core/ascii.h"
#include "protocol/codec.h"
#include "transport/http_util.h"
#include "transport/ws_deflate.h"
#include "transport/ws_frame.h"

namespace gyre::transport {

bool header_has_token(std::string_view value, std::string_view token) {
  std::string v = ascii_lower(value);
  size_t pos = 0;
  while (pos <= v.size()) {
    size_t comma = v.find(',', pos);
    std::string_view part(v.data() + pos, (comma == std::string::npos ? v.size() : comma) - pos);
    while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) {
      part.remove_prefix(1);
    }
    while (!part.empty() && (part.back() == ' ' || part.back() == '\t')) {
      part.remove_suffix(1);
    }
    if (part == token) {
      return true;
    }
    if (comma == std::string::npos) {
      break;
    }
    pos = comma + 1;
  }
  return false;
}

std::vector<Glob> compile_origin_globs(const std::vector<std::string>& patterns) {
  std::vector<Glob> globs;
  for (const auto& pat : patterns) {
    // Lower-cased before compiling, as Centrifugo does; matched against the lower-cased Origin.
    if (auto g = Glob::compile(ascii_lower(pat))) {
      globs.push_back(std::move(*g));
    }
  }
  return globs;
}

bool origin_allowed(std::span<const Glob> globs, bool list_empty, std::string_view origin,
                    std::string_view host) {
  if (origin.empty()) {
    return true;
  }
  std::string o = ascii_lower(origin);
  if (list_empty) {
    size_t scheme = o.find("://");
    std::string_view origin_host =
        scheme == std::string::npos ? std::string_view(o) : std::string_view(o).substr(scheme + 3);
    return origin_host == ascii_lower(host);
  }
  return std::ranges::any_of(globs, [&o](const Glob& g) { return g.match(o); });
}

std::expected<UpgradeAccepted, UpgradeRefused> negotiate_websocket(
    const UpgradeRequest& req, const config::Config& cfg, std::span<const Glob> origin_globs) {
  const bool uni = req.unidirectional;
  if (req.method != "GET" || !header_has_token(req.upgrade, "websocket") ||
      !header_has_token(req.connection, "upgrade") || req.version != "13" || req.key.empty()) {
    return std::unexpected(UpgradeRefused{400, "Bad Request\n", "text/plain; charset=utf-8"});
  }
  if (!origin_allowed(origin_globs, cfg.allowed_origins.empty(), req.origin, req.host)) {
    return std::unexpected(UpgradeRefused{403, "Forbidden\n", "text/plain; charset=utf-8"});
  }
  UpgradeAccepted out;
  if (uni) {
    if (auto p = http::query_param(req.query, "cf_connect")) {
      protocol::ConnectRequest cr;
      if (!protocol::json_codec().decode_connect_request(*p, cr)) {
        return std::unexpected(UpgradeRefused{400, "", ""});
      }
      out.uni_connect = std::move(cr);
    }
  }
  // Subprotocols (client-protocol.md §8.1): uni_websocket is JSON only and takes none.
  std::string_view subprotocol;
  bool protobuf = false;
  if (!uni) {
    if (header_has_token(req.protocols, "centrifuge-protobuf")) {
      subprotocol = "centrifuge-protobuf";
      protobuf = true;
    } else if (header_has_token(req.protocols, "centrifuge-json")) {
      subprotocol = "centrifuge-json";
    }
    auto proto_param = http::query_param(req.query, "cf_protocol");
    auto format_param = http::query_param(req.query, "format");
    if ((proto_param && *proto_param == "protobuf") ||
        (format_param && *format_param == "protobuf")) {
      protobuf = true;
    }
  }
  // uni_websocket has its own copy of every WebSocket option (uni_ prefix, reference.md §1.9);
  // Centrifugo reads none of the bidirectional ones for it.
  const auto write_timeout = uni ? cfg.uni_websocket_write_timeout : cfg.websocket_write_timeout;
  const bool compression = uni ? cfg.uni_websocket_compression : cfg.websocket_compression;
  const int64_t compression_level =
      uni ? cfg.uni_websocket_compression_level : cfg.websocket_compression_level;
  const int64_t compression_min_size =
      uni ? cfg.uni_websocket_compression_min_size : cfg.websocket_compression_min_size;
  WebSocketOptions& opts = out.options;
  opts.protocol = protobuf ? protocol::ProtocolType::kProtobuf : protocol::ProtocolType::kJson;
  opts.message_size_limit = static_cast<int32_t>(std::min<int64_t>(
      uni ? cfg.uni_websocket_message_size_limit : cfg.websocket_message_size_limit, INT32_MAX));
  // Centrifuge: a zero write timeout means the 1 s default.
  opts.write_timeout = write_timeout.count() > 0
                           ? std::chrono::duration_cast<std::chrono::milliseconds>(write_timeout)
                           : std::chrono::milliseconds(1000);
  opts.queue_max_size = cfg.client_queue_max_size;
  auto pp = http::query_param(req.query, "cf_ws_frame_ping_pong");
  opts.frame_ping_pong = !uni && pp && *pp == "true";
  opts.unidirectional = uni;
  // Offers may come in several header lines, joined by the caller (RFC 7230 §3.2.2).
  if (compression && ws::accept_deflate_offer(req.extensions)) {
    opts.deflate = true;
    // gorilla's SetCompressionLevel refuses levels outside -2..9 and keeps its default, 1.
    int level = static_cast<int>(std::clamp<int64_t>(compression_level, -100, 100));
    if (!ws::valid_compression_level(level)) {
      out.invalid_compression_level = true;
      level = 1;
    }
    opts.compression_level = static_cast<int8_t>(level);
    opts.compression_min_size =
        static_cast<int32_t>(std::clamp<int64_t>(compression_min_size, 0, INT32_MAX));
  }
  out.response =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      ws::accept_key(req.key) + "\r\n";
  if (!subprotocol.empty()) {
    out.response.append("Sec-WebSocket-Protocol: ").append(subprotocol).append("\r\n");
  }
  if (opts.deflate) {
    out.response.append("Sec-WebSocket-Extensions: ").append(ws::kDeflateResponse).append("\r\n");
  }
  out.response += "\r\n";
  return out;
}

}  // namespace gyre::transport
