#include "engine/redis/redis_connection.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "core/log.h"
#include "engine/redis/redis_tls.h"

namespace gyre::engine::redis {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {
constexpr std::chrono::milliseconds kMinBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{3000};
constexpr size_t kReadChunk = 64 * 1024;
}  // namespace

Reply Reply::from_hiredis(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) {
        out.elements.push_back(from_hiredis(r->element[i]));
      }
      break;
    default:
      out.type = Type::kNil;
      break;
  }
  return out;
}

std::string format_command(const std::vector<std::string>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (const auto& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  char* cmd = nullptr;
  int n = redisFormatCommandArgv(&cmd, static_cast<int>(argv.size()), ptrs.data(), lens.data());
  if (n < 0 || cmd == nullptr) {
    throw std::bad_alloc();
  }
  std::string out(cmd, static_cast<size_t>(n));
  std::free(cmd);
  return out;
}

Connection::Connection(asio::io_context& io, ConnectionOptions opts, std::string name)
    : io_(io),
      opts_(std::move(opts)),
      name_(std::move(name)),
      socket_(io),
      unix_socket_(io),
      resolver_(io),
      timer_(io),
      retry_timer_(io) {}

Connection::~Connection() {
  if (reader_ != nullptr) {
    redisReaderFree(reader_);
  }
}

void Connection::start() {
  if (state_ == State::kIdle) {
    connect();
  }
}

void Connection::stop() {
  if (state_ == State::kStopped) {
    return;
  }
  fail("connection closed");
  state_ = State::kStopped;
  retry_timer_.cancel();
}

void Connection::reset(const std::string& why) {
  if (state_ == State::kReady || state_ == State::kConnecting) {
    fail(why);
  }
}

void Connection::connect() {
  state_ = State::kConnecting;
  ++generation_;
  if (reader_ != nullptr) {
    redisReaderFree(reader_);
  }
  reader_ = redisReaderCreate();
  out_.clear();
  writing_.clear();
  write_in_flight_ = false;
  stream_ready_ = false;
  tls_.reset();
  // The handshake goes first in the pipeline; commands submitted meanwhile queue behind it.
  handshake();
  auto gen = generation_;
  if (!opts_.endpoints.empty()) {
    const Endpoint& e = opts_.endpoints[attempts_++ % opts_.endpoints.size()];
    connect_to(e.host, e.port, gen);
    return;
  }
  if (!opts_.unix_path.empty()) {
    connect_unix(gen);
    return;
  }
  if (!opts_.sentinel) {
    connect_to(opts_.host, opts_.port, gen);
    return;
  }
  // Sentinel: the master may have moved since the last attempt.
  endpoint_ = "master \"" + opts_.sentinel->master_name + "\"";
  auto self = shared_from_this();
  discover_master(io_, *opts_.sentinel, opts_.connect_timeout, opts_.io_timeout,
                  [this, self, gen](std::expected<Endpoint, std::string> ep) {
                    if (gen != generation_ || state_ != State::kConnecting) {
                      return;
                    }
                    if (!ep) {
                      fail("sentinel: " + ep.error());
                      return;
                    }
                    connect_to(ep->host, ep->port, gen);
                  });
}

void Connection::connect_to(const std::string& host, int port, uint64_t gen) {
  endpoint_ = host + ":" + std::to_string(port);
  auto self = shared_from_this();
  timer_.expires_after(opts_.connect_timeout);
  timer_.async_wait([this, self, gen](boost::system::error_code ec) {
    if (!ec && gen == generation_ && state_ == State::kConnecting) {
      fail("connect timeout");
    }
  });
  resolver_.async_resolve(
      host, std::to_string(port),
      [this, self, gen, host](boost::system::error_code ec,
                              asio::ip::tcp::resolver::results_type rs) {
        if (gen != generation_ || state_ != State::kConnecting) {
          return;
        }
        if (ec) {
          fail("resolve: " + ec.message());
          return;
        }
        asio::async_connect(socket_, rs,
                            [this, self, gen, host](boost::system::error_code ec, const auto&) {
                              if (gen != generation_ || state_ != State::kConnecting) {
                                return;
                              }
                              if (ec) {
                                fail("connect: " + ec.message());
                                return;
                              }
                              socket_.set_option(asio::ip::tcp::no_delay(true));
                              if (opts_.tls) {
                                start_tls(host, gen);
                                return;
                              }
                              stream_ready_ = true;
                              read();
                              flush();
                            });
      });
}

void Connection::connect_unix(uint64_t gen) {
  endpoint_ = "unix:" + opts_.unix_path;
  auto self = shared_from_this();
  timer_.expires_after(opts_.connect_timeout);
  timer_.async_wait([this, self, gen](boost::system::error_code ec) {
    if (!ec && gen == generation_ && state_ == State::kConnecting) {
      fail("connect timeout");
    }
  });
  unix_socket_.async_connect(asio::local::stream_protocol::endpoint(opts_.unix_path),
                             [this, self, gen](boost::system::error_code ec) {
                               if (gen != generation_ || state_ != State::kConnecting) {
                                 return;
                               }
                               if (ec) {
                                 fail("connect: " + ec.message());
                                 return;
                               }
                               stream_ready_ = true;
                               read();
                               flush();
                             });
}

void Connection::start_tls(const std::string& host, uint64_t gen) {
  tls_ = TlsStream::create(opts_.tls, socket_, host);
  auto self = shared_from_this();
  tls_->handshake([this, self, gen](std::string why) {
    if (gen != generation_ || state_ != State::kConnecting) {
      return;
    }
    if (!why.empty()) {
      fail("tls handshake: " + why);
      return;
    }
    stream_ready_ = true;
    read();
    flush();
  });
}

void Connection::handshake() {
  // Each step's reply is checked by `check`: an error message fails the attempt.
  struct Step {
    std::vector<std::string> argv;
    std::function<std::string(const Reply&)> check;
  };
  std::vector<Step> steps;
  if (!opts_.password.empty()) {
    if (!opts_.user.empty()) {
      steps.push_back({{"AUTH", opts_.user, opts_.password}, nullptr});
    } else {
      steps.push_back({{"AUTH", opts_.password}, nullptr});
    }
  }
  if (!opts_.client_name.empty()) {
    steps.push_back({{"CLIENT", "SETNAME", opts_.client_name}, nullptr});
  }
  if (opts_.db != 0) {
    steps.push_back({{"SELECT", std::to_string(opts_.db)}, nullptr});
  }
  if (opts_.sentinel) {
    // Sentinel may still name a demoted master for a moment after a failover.
    steps.push_back({{"ROLE"}, [](const Reply& r) -> std::string {
                       if (r.type == Reply::Type::kArray && !r.elements.empty() &&
                           r.elements[0].str == "master") {
                         return "";
                       }
                       return "not a master (role " +
                              (r.elements.empty() ? std::string("?") : r.elements[0].str) + ")";
                     }});
  }
  // PING keeps the readiness signal uniform: ready after the last handshake reply.
  steps.push_back({{"PING"}, nullptr});
  handshake_left_ = static_cast<int>(steps.size());
  auto deadline = Clock::now() + opts_.connect_timeout;
  for (auto& step : steps) {
    std::string what = step.argv[0];
    out_ += format_command(step.argv);
    pending_.push_back(Pending{
        [this, what, check = std::move(step.check)](std::expected<Reply, std::string> r) {
          if (state_ != State::kConnecting) {
            return;
          }
          if (!r || r->is_error()) {
            fail(what + ": " + (r ? r->str : r.error()));
            return;
          }
          if (check) {
            if (std::string why = check(*r); !why.empty()) {
              fail(what + ": " + why);
              return;
            }
          }
          if (--handshake_left_ == 0) {
            state_ = State::kReady;
            backoff_ = std::chrono::milliseconds{0};
            if (last_logged_down_) {
              logging::info("redis connection established",
                            {{"connection", name_}, {"address", endpoint_}});
              last_logged_down_ = false;
            }
            arm_timer();
            if (on_ready_) {
              on_ready_();
            }
          }
        },
        deadline});
  }
}

void Connection::fail(const std::string& why) {
  if (state_ == State::kStopped) {
    return;
  }
  ++generation_;
  boost::system::error_code ignored;
  socket_.close(ignored);
  unix_socket_.close(ignored);
  resolver_.cancel();
  timer_.cancel();
  out_.clear();
  writing_.clear();
  write_in_flight_ = false;
  stream_ready_ = false;
  tls_.reset();  // its pending operations keep it alive until they complete (aborted)
  auto failed = std::move(pending_);
  pending_.clear();
  state_ = State::kBackoff;
  // Throttled: one line when the connection goes down, one when it is back.
  if (!last_logged_down_) {
    if (quiet_) {
      logging::debug("redis connection error",
                     {{"connection", name_}, {"address", endpoint_}, {"error", why}});
    } else {
      logging::error("redis connection error",
                     {{"connection", name_}, {"address", endpoint_}, {"error", why}});
    }
    last_logged_down_ = true;
  }
  backoff_ = std::clamp(backoff_ * 2, kMinBackoff, kMaxBackoff);
  auto self = shared_from_this();
  auto gen = generation_;
  retry_timer_.expires_after(backoff_);
  retry_timer_.async_wait([this, self, gen](boost::system::error_code ec) {
    if (!ec && gen == generation_ && state_ == State::kBackoff) {
      connect();
    }
  });
  // Handlers run after this handler: callers never see their callback inline.
  for (auto& p : failed) {
    asio::post(io_, [done = std::move(p.done), why]() { done(std::unexpected(why)); });
  }
  // Also after a failed attempt: whoever waits for readiness must not wait forever.
  if (on_lost_) {
    on_lost_();
  }
}

void Connection::command(const std::vector<std::string>& argv, Handler done) {
  if (state_ != State::kReady && state_ != State::kConnecting) {
    asio::post(io_, [done = std::move(done)]() {
      done(std::unexpected(std::string("redis not connected")));
    });
    return;
  }
  out_ += format_command(argv);
  pending_.push_back(Pending{std::move(done), Clock::now() + opts_.io_timeout});
  if (pending_.size() == 1) {
    arm_timer();
  }
  flush();
}

bool Connection::push_command(const std::vector<std::string>& argv) {
  if (state_ != State::kReady) {
    return false;
  }
  out_ += format_command(argv);
  flush();
  return true;
}

void Connection::flush() {
  if (write_in_flight_ || out_.empty() || !stream_ready_) {
    return;
  }
  // Everything queued goes in one write; commands submitted meanwhile wait for the next.
  writing_.swap(out_);
  out_.clear();
  write_in_flight_ = true;
  auto self = shared_from_this();
  auto gen = generation_;
  auto on_written = [this, self, gen](boost::system::error_code ec, size_t) {
    if (gen != generation_) {
      return;
    }
    write_in_flight_ = false;
    writing_.clear();
    if (ec) {
      fail("write: " + ec.message());
      return;
    }
    flush();
  };
  if (tls_) {
    tls_->write(asio::buffer(writing_), std::move(on_written));
  } else if (!opts_.unix_path.empty()) {
    asio::async_write(unix_socket_, asio::buffer(writing_), std::move(on_written));
  } else {
    asio::async_write(socket_, asio::buffer(writing_), std::move(on_written));
  }
}

void Connection::read() {
  read_buf_.resize(kReadChunk);
  auto self = shared_from_this();
  auto gen = generation_;
  auto on_read = [this, self, gen](boost::system::error_code ec, size_t n) {
    if (gen != generation_) {
      return;
    }
    if (ec) {
      fail(ec == asio::error::eof ? std::string("connection closed by server")
                                  : "read: " + ec.message());
      return;
    }
    if (redisReaderFeed(reader_, read_buf_.data(), n) != REDIS_OK) {
      fail("reply buffer error");
      return;
    }
    while (true) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
        fail(std::string("protocol error: ") + reader_->errstr);
        return;
      }
      if (raw == nullptr) {
        break;
      }
      Reply r = Reply::from_hiredis(static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      on_reply(std::move(r));
      if (gen != generation_) {
        return;  // a handler failed or stopped the connection
      }
    }
    read();
  };
  if (tls_) {
    tls_->read_some(asio::buffer(read_buf_), std::move(on_read));
  } else if (!opts_.unix_path.empty()) {
    unix_socket_.async_read_some(asio::buffer(read_buf_), std::move(on_read));
  } else {
    socket_.async_read_some(asio::buffer(read_buf_), std::move(on_read));
  }
}

void Connection::on_reply(Reply r) {
  if (push_ && pending_.empty() && r.type == Reply::Type::kArray && !r.elements.empty()) {
    push_(r);
    return;
  }
  if (pending_.empty()) {
    fail("unexpected reply");
    return;
  }
  Handler done = std::move(pending_.front().done);
  pending_.pop_front();
  // A master demoted by a failover answers writes with READONLY: find the new one.
  const bool demoted = opts_.sentinel && state_ == State::kReady && r.is_error() &&
                       r.str.starts_with("READONLY");
  done(std::move(r));
  if (demoted && state_ == State::kReady) {
    fail("the master became a replica (READONLY); asking Sentinel again");
  }
}

void Connection::arm_timer() {
  if (pending_.empty() || state_ != State::kReady) {
    return;
  }
  auto self = shared_from_this();
  auto gen = generation_;
  timer_.expires_at(pending_.front().deadline);
  timer_.async_wait([this, self, gen](boost::system::error_code ec) {
    if (ec || gen != generation_ || state_ != State::kReady) {
      return;
    }
    if (!pending_.empty() && pending_.front().deadline <= Clock::now()) {
      fail("io timeout");
      return;
    }
    arm_timer();
  });
}

namespace {

void ask_sentinel(asio::io_context& io, std::shared_ptr<const SentinelOptions> opts, size_t i,
                  std::chrono::milliseconds connect_timeout, std::chrono::milliseconds io_timeout,
                  std::string errors,
                  std::function<void(std::expected<Endpoint, std::string>)> done) {
  if (i >= opts->addresses.size()) {
    asio::post(io, [done = std::move(done), errors = std::move(errors)] {
      done(std::unexpected(errors.empty() ? std::string("no sentinel address") : errors));
    });
    return;
  }
  const Endpoint& at = opts->addresses[i];
  ConnectionOptions c;
  c.host = at.host;
  c.port = at.port;
  c.user = opts->user;
  c.password = opts->password;
  c.client_name = opts->client_name;
  c.tls = opts->tls;
  c.connect_timeout = connect_timeout;
  c.io_timeout = io_timeout;
  auto conn = std::make_shared<Connection>(io, std::move(c), "sentinel");
  conn->set_quiet(true);
  conn->start();
  conn->command(
      {"SENTINEL", "get-master-addr-by-name", opts->master_name},
      [&io, opts, i, connect_timeout, io_timeout, errors = std::move(errors),
       done = std::move(done), conn](std::expected<Reply, std::string> r) mutable {
        conn->stop();
        std::string why;
        if (!r) {
          why = r.error();
        } else if (r->is_error()) {
          why = r->str;
        } else if (r->is_nil()) {
          why = "unknown master \"" + opts->master_name + "\"";
        } else if (r->type == Reply::Type::kArray && r->elements.size() == 2) {
          int port = 0;
          const std::string& p = r->elements[1].str;
          auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
          if (ec == std::errc{} && end == p.data() + p.size() && port > 0 && port < 65536 &&
              !r->elements[0].str.empty()) {
            done(Endpoint{r->elements[0].str, port});
            return;
          }
          why = "unexpected address " + r->elements[0].str + ":" + p;
        } else {
          why = "unexpected reply";
        }
        const Endpoint& at = opts->addresses[i];
        errors += (errors.empty() ? "" : "; ") + at.host + ":" + std::to_string(at.port) + ": " +
                  why;
        ask_sentinel(io, std::move(opts), i + 1, connect_timeout, io_timeout, std::move(errors),
                     std::move(done));
      });
}

}  // namespace

void discover_master(asio::io_context& io, const SentinelOptions& opts,
                     std::chrono::milliseconds connect_timeout,
                     std::chrono::milliseconds io_timeout,
                     std::function<void(std::expected<Endpoint, std::string>)> done) {
  ask_sentinel(io, std::make_shared<const SentinelOptions>(opts), 0, connect_timeout, io_timeout,
               "", std::move(done));
}

}  // namespace gyre::engine::redis
