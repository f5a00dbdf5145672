#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

struct redisReader;
struct redisReply;

namespace gyre::engine::redis {
class TlsContext;
class TlsStream;
}  // namespace gyre::engine::redis

// One connection to a Redis server on one shard's event loop: hiredis only parses replies
// (redisReader) and formats commands (redisFormatCommandArgv); the socket is Asio's, so no
// call ever blocks the loop. Commands are pipelined: everything submitted while a write is
// in flight goes out in the next single write, and replies are matched in order. With a TLS
// context the bytes go through a TlsStream (redis_tls.h) after the TCP connect; without one the
// socket is read and written directly.
//
// Thread affinity: shard-local. Created, used and destroyed on one shard's thread; handlers
// run there too, never inline from the call that submitted the command.
namespace gyre::engine::redis {

// A decoded RESP2 reply. Immutable once built.
struct Reply {
  enum class Type { kString, kStatus, kInteger, kNil, kArray, kError };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError
  int64_t integer = 0;
  std::vector<Reply> elements;

  bool is_error() const { return type == Type::kError; }
  bool is_nil() const { return type == Type::kNil; }
  static Reply from_hiredis(const redisReply* r);
};

// Formats argv as one RESP command (redisFormatCommandArgv).
std::string format_command(const std::vector<std::string>& argv);

struct Endpoint {
  std::string host;
  int port = 6379;
};

// Redis Sentinel: the master of `master_name` is asked from `addresses` (in order, the first
// that answers wins) before every connection attempt.
struct SentinelOptions {
  std::vector<Endpoint> addresses;
  std::string master_name;
  std::string user;
  std::string password;
  std::string client_name;
  std::shared_ptr<const TlsContext> tls;  // set: TLS to the Sentinels (redis_sentinel_tls)
};

struct ConnectionOptions {
  std::string host;
  int port = 6379;
  std::string unix_path;  // not empty: connect to this unix socket instead of host:port
  std::string user;
  std::string password;
  int db = 0;
  std::string client_name;  // CLIENT SETNAME after connecting when not empty
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds io_timeout{4000};
  // Not empty: each attempt connects to the next of these instead of host/port (a Redis
  // Cluster PUB/SUB connection goes round the seeds).
  std::vector<Endpoint> endpoints;
  // Set: host/port are discovered through Sentinel before each attempt, the server must
  // answer ROLE with "master", and a READONLY reply (a demoted master) resets the connection.
  std::optional<SentinelOptions> sentinel;
  // Set: TLS to Redis (redis_tls); shared by every connection of the engine.
  std::shared_ptr<const TlsContext> tls;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // A reply, or why there is none (not connected, timed out, connection lost).
  using Handler = std::function<void(std::expected<Reply, std::string>)>;
  // PUB/SUB mode: pushes ("message", "subscribe", ...) arrive here instead of as replies.
  using PushHandler = std::function<void(const Reply&)>;

  Connection(boost::asio::io_context& io, ConnectionOptions opts, std::string name);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Called each time the connection is ready (handshake done), and each time it is lost or
  // an attempt fails.
  void on_ready(std::function<void()> fn) { on_ready_ = std::move(fn); }
  void on_lost(std::function<void()> fn) { on_lost_ = std::move(fn); }
  void set_push_handler(PushHandler fn) { push_ = std::move(fn); }

  // Connects, and reconnects with backoff (100 ms doubling up to 3 s) after every loss.
  void start();
  // Closes for good: pending handlers fail, no reconnect.
  void stop();
  // Drops the current connection (pending handlers fail with `why`) and reconnects at once.
  // Nothing happens while stopped or between attempts.
  void reset(const std::string& why);
  // Connection failures are logged at debug level only (short-lived helper connections).
  void set_quiet(bool quiet) { quiet_ = quiet; }

  bool ready() const { return state_ == State::kReady; }
  // Between attempts after a failure (or stopped): commands fail at once.
  bool down() const { return state_ == State::kBackoff || state_ == State::kStopped; }

  // Sends a command. While (re)connecting the command waits in the pipeline; while Redis is
  // unreachable (between attempts) it fails at once. Either way `done` runs later, at the
  // latest after io_timeout.
  void command(const std::vector<std::string>& argv, Handler done);
  // PUB/SUB mode: sends a command whose answers are pushes, not replies (SUBSCRIBE, ...).
  // Returns false when not ready (the command is dropped; on_ready will follow).
  bool push_command(const std::vector<std::string>& argv);

 private:
  enum class State { kIdle, kConnecting, kReady, kBackoff, kStopped };
  struct Pending {
    Handler done;
    std::chrono::steady_clock::time_point deadline;
  };

  void connect();
  void connect_to(const std::string& host, int port, uint64_t gen);
  void handshake();
  void start_tls(const std::string& host, uint64_t gen);
  void connect_unix(uint64_t gen);
  void fail(const std::string& why);
  void flush();
  void read();
  void on_reply(Reply r);
  void arm_timer();

  boost::asio::io_context& io_;
  ConnectionOptions opts_;
  std::string name_;
  State state_ = State::kIdle;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::local::stream_protocol::socket unix_socket_;  // opts_.unix_path set
  std::shared_ptr<TlsStream> tls_;  // the TLS session of the current attempt (opts_.tls set)
  bool stream_ready_ = false;       // connected (and TLS handshake done): writes may start
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer timer_;       // connect deadline, command deadlines
  boost::asio::steady_timer retry_timer_;  // backoff between attempts
  std::chrono::milliseconds backoff_{0};
  redisReader* reader_ = nullptr;
  std::string out_;       // formatted commands not yet written
  std::string writing_;   // the bytes of the write in flight
  bool write_in_flight_ = false;
  std::deque<Pending> pending_;
  int handshake_left_ = 0;
  std::vector<char> read_buf_;
  uint64_t generation_ = 0;  // bumps on every (re)connect: stale completions are ignored
  std::function<void()> on_ready_;
  std::function<void()> on_lost_;
  PushHandler push_;
  bool last_logged_down_ = false;
  bool quiet_ = false;
  std::string endpoint_;  // "host:port" of the current or last attempt, for logs
  size_t attempts_ = 0;   // rotates ConnectionOptions::endpoints
};

// Asks the Sentinels of `opts` in order for the address of its master
// (SENTINEL get-master-addr-by-name) and calls `done` on `io`'s thread with the first answer,
// or with why none came. Each Sentinel gets `connect_timeout` to connect and `io_timeout` to
// answer.
void discover_master(boost::asio::io_context& io, const SentinelOptions& opts,
                     std::chrono::milliseconds connect_timeout,
                     std::chrono::milliseconds io_timeout,
                     std::function<void(std::expected<Endpoint, std::string>)> done);

}  // namespace gyre::engine::redis
