#include "engine/redis/redis_connection.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstdlib>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

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
  // The handshake goes first in the pipeline; commands submitted meanwhile queue behind it.
  handshake();
  auto gen = generation_;
  auto self = shared_from_this();
  timer_.expires_after(opts_.connect_timeout);
  timer_.async_wait([this, self, gen](boost::system::error_code ec) {
    if (!ec && gen == generation_ && state_ == State::kConnecting) {
      fail("connect timeout");
    }
  });
  resolver_.async_resolve(
      opts_.host, std::to_string(opts_.port),
      [this, self, gen](boost::system::error_code ec, asio::ip::tcp::resolver::results_type rs) {
        if (gen != generation_ || state_ != State::kConnecting) {
          return;
        }
        if (ec) {
          fail("resolve: " + ec.message());
          return;
        }
        asio::async_connect(socket_, rs,
                            [this, self, gen](boost::system::error_code ec, const auto&) {
                              if (gen != generation_ || state_ != State::kConnecting) {
                                return;
                              }
                              if (ec) {
                                fail("connect: " + ec.message());
                                return;
                              }
                              socket_.set_option(asio::ip::tcp::no_delay(true));
                              read();
                              flush();
                            });
      });
}

void Connection::handshake() {
  std::vector<std::vector<std::string>> cmds;
  if (!opts_.password.empty()) {
    if (!opts_.user.empty()) {
      cmds.push_back({"AUTH", opts_.user, opts_.password});
    } else {
      cmds.push_back({"AUTH", opts_.password});
    }
  }
  if (opts_.db != 0) {
    cmds.push_back({"SELECT", std::to_string(opts_.db)});
  }
  // PING keeps the readiness signal uniform: ready after the last handshake reply.
  cmds.push_back({"PING"});
  handshake_left_ = static_cast<int>(cmds.size());
  auto deadline = Clock::now() + opts_.connect_timeout;
  for (auto& c : cmds) {
    std::string what = c[0];
    out_ += format_command(c);
    pending_.push_back(Pending{
        [this, what](std::expected<Reply, std::string> r) {
          if (state_ != State::kConnecting) {
            return;
          }
          if (!r || r->is_error()) {
            fail(what + ": " + (r ? r->str : r.error()));
            return;
          }
          if (--handshake_left_ == 0) {
            state_ = State::kReady;
            backoff_ = std::chrono::milliseconds{0};
            if (last_logged_down_) {
              spdlog::info("redis {}: connected to {}:{}", name_, opts_.host, opts_.port);
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
  resolver_.cancel();
  timer_.cancel();
  out_.clear();
  writing_.clear();
  write_in_flight_ = false;
  auto failed = std::move(pending_);
  pending_.clear();
  state_ = State::kBackoff;
  // Throttled: one line when the connection goes down, one when it is back.
  if (!last_logged_down_) {
    spdlog::error("redis {}: {}:{}: {}", name_, opts_.host, opts_.port, why);
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
  if (write_in_flight_ || out_.empty() || !socket_.is_open()) {
    return;
  }
  // Everything queued goes in one write; commands submitted meanwhile wait for the next.
  writing_.swap(out_);
  out_.clear();
  write_in_flight_ = true;
  auto self = shared_from_this();
  auto gen = generation_;
  asio::async_write(socket_, asio::buffer(writing_),
                    [this, self, gen](boost::system::error_code ec, size_t) {
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
                    });
}

void Connection::read() {
  read_buf_.resize(kReadChunk);
  auto self = shared_from_this();
  auto gen = generation_;
  socket_.async_read_some(
      asio::buffer(read_buf_), [this, self, gen](boost::system::error_code ec, size_t n) {
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
      });
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
  done(std::move(r));
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

}  // namespace gyre::engine::redis
