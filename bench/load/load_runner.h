#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "load/histogram.h"
#include "load/options.h"
#include "load/report.h"
#include "load/ws_frame.h"

// The load loop: one thread, one epoll instance, every connection non-blocking. Subscribers
// connect (bounded handshakes in flight), subscribe, then publishers send stamped publications
// and the loop records publish->deliver latency as deliveries are scanned in place. Phases are
// bounded in time. Not thread-safe: run() owns the process's sockets until it returns.
//
// Receive path: a recv() lands in one shared scratch buffer and is parsed there; only a frame
// (or NATS item) cut by the read boundary is copied into the connection's carry buffer, whose
// capacity is reused. No allocation per delivered message.
namespace gyre::bench {

class LoadRunner {
 public:
  explicit LoadRunner(Options options);
  ~LoadRunner();
  LoadRunner(const LoadRunner&) = delete;
  LoadRunner& operator=(const LoadRunner&) = delete;

  // Runs every phase the options ask for and returns the figures.
  Results run();

 private:
  enum class Role : uint8_t { kSubscriber, kHttpPublisher, kWsPublisher, kNatsPublisher };
  enum class State : uint8_t { kIdle, kConnecting, kUpgrading, kInit, kReady, kClosed };

  // One HTTP request in flight on a publisher: publications [first_seq, first_seq + count).
  struct Pending {
    int64_t first_seq = 0;
    uint32_t count = 0;
  };

  struct Conn {
    int fd = -1;
    Role role = Role::kSubscriber;
    State state = State::kIdle;
    bool want_out = false;
    bool ping_sent = false;  // nats publisher: final PING written
    bool flushed = false;    // nats publisher: its PONG arrived, every PUB was processed
    uint8_t replies_pending = 0;
    uint32_t index = 0;
    uint32_t channel = 0;
    uint32_t inflight = 0;  // HTTP requests or client publish commands awaiting a reply
    int64_t started_ns = 0;
    int64_t last_seq = -1;
    std::string in;      // bytes of an incomplete frame/response, carried to the next read
    std::string stream;  // nats: an incomplete protocol item spanning WebSocket frames
    std::string out;
    size_t out_off = 0;
    std::vector<Pending> ring;  // HTTP publishers: requests in flight, oldest first
    size_t ring_head = 0;
  };

  void start_connect(Conn& c);
  void on_event(Conn& c, uint32_t events);
  void on_tcp_connected(Conn& c);
  void on_readable(Conn& c);
  void on_upgrade_bytes(Conn& c, char* data, size_t size);
  void feed_ws(Conn& c, char* data, size_t size);
  size_t parse_ws_frames(Conn& c, char* data, size_t size);
  void on_ws_frame(Conn& c, const WsFrame& f);
  void on_gyre_json(Conn& c, std::string_view frame);
  void on_gyre_json_line(Conn& c, std::string_view line);
  void on_gyre_protobuf(Conn& c, std::string_view frame);
  void on_nats_bytes(Conn& c, char* data, size_t size);
  size_t parse_nats_items(Conn& c, std::string_view data);
  void on_http_bytes(Conn& c, char* data, size_t size);
  void on_publish_reply(Conn& c, uint32_t id, bool error, std::string_view what);
  void send_init(Conn& c);
  void on_ready(Conn& c);
  void fail(Conn& c, std::string_view why);
  void deliver(Conn& c, std::string_view payload);
  void send_ws(Conn& c, WsOpcode op, std::string_view payload);
  void flush(Conn& c);
  void set_want_out(Conn& c, bool want);
  void pump_publisher(Conn& c);
  void append_http_publish(Conn& c, int64_t first_seq, uint32_t count);
  void append_ws_publish(Conn& c, int64_t first_seq, uint32_t count);
  void append_nats_publish(Conn& c, int64_t first_seq, uint32_t count);
  void count_sent(int64_t seq);
  void count_failed(int64_t seq);
  bool publishers_done() const;
  void poll(int timeout_ms);
  void progress(const char* phase, bool force);
  uint32_t next_mask();
  const std::string& channel_name(int64_t seq) const;

  Options o_;
  int epoll_fd_ = -1;
  sockaddr_in ws_addr_{};
  sockaddr_in alt_addr_{};  // --alt-port: odd subscribers
  sockaddr_in pub_addr_{};
  std::string upgrade_request_;  // gyre/nats; nchan builds one per channel
  std::vector<std::string> channel_names_;
  std::vector<std::string> nchan_upgrades_;
  std::vector<uint32_t> subs_per_channel_;
  std::string padding_;
  std::string body_;     // request body scratch, reused
  std::string payload_;  // publication payload scratch, reused
  std::vector<char> scratch_;
  std::vector<Conn> conns_;
  uint32_t mask_state_ = 0x9e3779b9;
  int64_t now_ns_ = 0;

  // Connect phase.
  int num_subscribers_ = 0;
  int next_client_ = 0;
  int connecting_ = 0;
  int64_t connect_ok_ = 0;
  int64_t connect_failed_ = 0;
  int64_t connect_start_ns_ = 0;
  int64_t last_connect_ns_ = 0;
  int publishers_ready_ = 0;
  int publishers_failed_ = 0;
  Histogram connect_hist_;
  std::string first_error_;

  // Publish phase.
  bool publishing_ = false;
  int64_t publish_limit_ = 0;  // publications to send (lowered when --duration expires)
  int64_t due_ = 0;            // publications the pacing allows by now
  int64_t next_seq_ = 0;
  int64_t acked_ = 0;
  int64_t publish_failed_ = 0;
  int64_t expected_ = 0;
  int64_t received_ = 0;
  int64_t unparsed_ = 0;
  int64_t out_of_order_ = 0;
  int64_t disconnects_ = 0;
  int64_t first_delivery_ns_ = 0;
  int64_t last_delivery_ns_ = 0;
  Histogram latency_;
  int64_t last_progress_ns_ = 0;
};

int64_t monotonic_ns();
// `s` cut to 160 bytes with control characters blanked, for an error line.
std::string truncated(std::string_view s);
// Longest partial input kept per connection between reads.
inline constexpr size_t kMaxCarry = kMaxWsFrame + 64 * 1024;

}  // namespace gyre::bench
