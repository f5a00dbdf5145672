#include "engine/redis/redis_cluster.h"

#include <algorithm>
#include <charconv>

#include <boost/asio/post.hpp>

#include "core/log.h"

namespace gyre::engine::redis {

namespace asio = boost::asio;

namespace {

constexpr int kMaxRedirects = 5;
constexpr std::chrono::milliseconds kRefreshRetry{200};

// CRC16/XMODEM (polynomial 0x1021, initial value 0), as Redis Cluster's keyHashSlot uses.
uint16_t crc16(std::string_view s) {
  uint16_t crc = 0;
  for (unsigned char c : s) {
    crc ^= static_cast<uint16_t>(c) << 8;
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 0x8000) != 0 ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381" -> the node.
std::string redirect_node(std::string_view err) {
  auto sp = err.rfind(' ');
  return sp == std::string_view::npos ? std::string() : std::string(err.substr(sp + 1));
}

bool split_node(const std::string& node, std::string& host, int& port) {
  auto colon = node.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return false;
  }
  host = node.substr(0, colon);
  auto [p, ec] = std::from_chars(node.data() + colon + 1, node.data() + node.size(), port);
  return ec == std::errc{} && p == node.data() + node.size() && port > 0 && port < 65536;
}

}  // namespace

int key_slot(std::string_view key) {
  // Only the part between the first "{" and the next "}" is hashed, when not empty.
  if (auto open = key.find('{'); open != std::string_view::npos) {
    if (auto close = key.find('}', open + 1); close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return crc16(key) % kClusterSlots;
}

std::string_view routing_key(const std::vector<std::string>& argv) {
  if ((argv[0] == "EVALSHA" || argv[0] == "EVAL") && argv.size() > 3 && argv[2] != "0") {
    return argv[3];
  }
  return argv.size() > 1 ? std::string_view(argv[1]) : std::string_view();
}

ClusterClient::ClusterClient(asio::io_context& io, ConnectionOptions base,
                             std::vector<Endpoint> seeds, std::string name,
                             std::chrono::milliseconds refresh_interval)
    : io_(io),
      base_(std::move(base)),
      name_(std::move(name)),
      slots_(kClusterSlots),
      retry_timer_(io),
      refresh_interval_(refresh_interval),
      refresh_timer_(io) {
  base_.db = 0;
  base_.sentinel.reset();
  base_.endpoints.clear();  // each node connection goes to its own node
  for (const auto& s : seeds) {
    seeds_.push_back(s.host + ":" + std::to_string(s.port));
  }
}

void ClusterClient::start() {
  refresh();
  arm_periodic_refresh();
}

void ClusterClient::arm_periodic_refresh() {
  if (stopped_ || refresh_interval_.count() <= 0) {
    return;
  }
  refresh_timer_.expires_after(refresh_interval_);
  refresh_timer_.async_wait([this, self = shared_from_this()](boost::system::error_code ec) {
    if (ec || stopped_) {
      return;
    }
    refresh();
    arm_periodic_refresh();
  });
}

void ClusterClient::stop() {
  stopped_ = true;
  retry_timer_.cancel();
  refresh_timer_.cancel();
  for (auto& [node, conn] : nodes_) {
    conn->stop();
  }
}

std::shared_ptr<Connection> ClusterClient::connection(const std::string& node) {
  if (auto it = nodes_.find(node); it != nodes_.end()) {
    return it->second;
  }
  ConnectionOptions o = base_;
  if (!split_node(node, o.host, o.port)) {
    return nullptr;
  }
  auto conn = std::make_shared<Connection>(io_, std::move(o), name_ + " " + node);
  nodes_.emplace(node, conn);
  if (!stopped_) {
    conn->start();
  }
  return conn;
}

void ClusterClient::command(std::vector<std::string> argv, Connection::Handler done) {
  const int slot = key_slot(routing_key(argv));
  std::string node = slots_[static_cast<size_t>(slot)];
  if (node.empty()) {
    node = seeds_[next_candidate_++ % seeds_.size()];
  }
  send(slot, std::move(argv), std::move(done), 0, node, false);
}

void ClusterClient::send(int slot, std::vector<std::string> argv, Connection::Handler done,
                         int redirects, const std::string& node, bool asking) {
  auto conn = connection(node);
  if (conn == nullptr) {
    asio::post(io_, [done = std::move(done), node] {
      done(std::unexpected("bad cluster node address " + node));
    });
    return;
  }
  if (asking) {
    conn->command({"ASKING"}, [](std::expected<Reply, std::string>) {});
  }
  std::vector<std::string> copy = argv;
  auto self = shared_from_this();
  conn->command(copy, [this, self, slot, argv = std::move(argv), done = std::move(done),
                       redirects](std::expected<Reply, std::string> r) mutable {
    if (stopped_) {
      done(std::move(r));
      return;
    }
    if (r && r->is_error() && redirects < kMaxRedirects) {
      const bool moved = r->str.starts_with("MOVED ");
      if (moved || r->str.starts_with("ASK ")) {
        std::string to = redirect_node(r->str);
        logging::trace("redis cluster redirect",
                       {{"connection", name_}, {"redirect", r->str}, {"to", to}});
        if (moved) {
          // The slot moved for good (migration or failover): follow, and learn the rest.
          slots_[static_cast<size_t>(slot)] = to;
          serving_.insert(to);
          refresh();
        }
        send(slot, std::move(argv), std::move(done), redirects + 1, to, !moved);
        return;
      }
    }
    if (!r || (r->is_error() && (r->str.starts_with("CLUSTERDOWN") ||
                                 r->str.starts_with("TRYAGAIN")))) {
      refresh();  // a node is gone or the cluster is reconfiguring
    }
    done(std::move(r));
  });
}

void ClusterClient::refresh() {
  if (stopped_) {
    return;
  }
  if (refreshing_) {
    refresh_again_ = true;
    return;
  }
  refreshing_ = true;
  // Candidates: the seeds, then every node learnt since; one per attempt, in turn.
  std::vector<std::string> candidates = seeds_;
  for (const auto& [node, conn] : nodes_) {
    if (std::find(candidates.begin(), candidates.end(), node) == candidates.end()) {
      candidates.push_back(node);
    }
  }
  std::string from = candidates[next_candidate_++ % candidates.size()];
  auto conn = connection(from);
  auto self = shared_from_this();
  auto finish = [this, self](bool ok) {
    refreshing_ = false;
    if (stopped_) {
      return;
    }
    if (!ok || refresh_again_) {
      refresh_again_ = false;
      retry_timer_.expires_after(ok ? std::chrono::milliseconds(0) : kRefreshRetry);
      retry_timer_.async_wait([this, self](boost::system::error_code ec) {
        if (!ec) {
          refresh();
        }
      });
    }
  };
  if (conn == nullptr) {
    finish(false);
    return;
  }
  conn->command({"CLUSTER", "SLOTS"},
                [this, from, finish](std::expected<Reply, std::string> r) {
                  bool ok = r && !r->is_error() && apply_slots(*r, from);
                  logging::trace("redis CLUSTER SLOTS",
                                 {{"connection", name_}, {"address", from}, {"ok", ok}});
                  if (!ok) {
                    logging::debug("error reading redis CLUSTER SLOTS",
                                   {{"connection", name_},
                                    {"address", from},
                                    {"error", r ? r->str : r.error()}});
                  }
                  finish(ok);
                });
}

bool ClusterClient::apply_slots(const Reply& r, const std::string& from) {
  if (r.type != Reply::Type::kArray || r.elements.empty()) {
    return false;
  }
  std::string from_host = from.substr(0, from.rfind(':'));
  std::vector<std::string> next(kClusterSlots);
  for (const Reply& range : r.elements) {
    // [start, end, [host, port, id, ...], replicas...]
    if (range.type != Reply::Type::kArray || range.elements.size() < 3 ||
        range.elements[2].type != Reply::Type::kArray ||
        range.elements[2].elements.size() < 2) {
      return false;
    }
    int64_t start = range.elements[0].integer;
    int64_t end = range.elements[1].integer;
    const auto& master = range.elements[2].elements;
    // An empty host means "the node you asked" (cluster-announce not set).
    std::string host = master[0].str.empty() || master[0].str == "?" ? from_host : master[0].str;
    std::string node = host + ":" + std::to_string(master[1].integer);
    if (start < 0 || end >= kClusterSlots || start > end) {
      return false;
    }
    for (int64_t s = start; s <= end; ++s) {
      next[static_cast<size_t>(s)] = node;
    }
  }
  slots_ = std::move(next);
  serving_.clear();
  complete_ = true;
  for (const auto& node : slots_) {
    if (node.empty()) {
      complete_ = false;
    } else {
      serving_.insert(node);
    }
  }
  ++refreshes_;
  // Not from inside the reply handler of a connection that may be closed.
  asio::post(io_, [self = shared_from_this()] { self->prune(); });
  return true;
}

void ClusterClient::prune() {
  if (stopped_) {
    return;
  }
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    if (serving_.contains(it->first)) {
      ++it;
      continue;
    }
    logging::debug("redis cluster node serves no slot any more: closing its connection",
                   {{"connection", name_}, {"address", it->first}});
    it->second->stop();  // commands still on it fail (error 100 to their callers)
    it = nodes_.erase(it);
  }
}

bool ClusterClient::ready() const {
  if (stopped_ || slots_.empty() || slots_.front().empty()) {
    return false;
  }
  if (!complete_) {
    return false;  // a slot nobody serves
  }
  for (const auto& [node, conn] : nodes_) {
    if (conn && serving_.contains(node) && !conn->ready()) {
      return false;
    }
  }
  return true;
}

}  // namespace gyre::engine::redis
