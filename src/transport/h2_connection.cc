#include "transport/h2_connection.h"

#include <boost/asio/write.hpp>
#include <nghttp2/nghttp2.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>

#include "core/ascii.h"
#include "transport/http_util.h"

namespace gyre::transport {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

std::atomic<size_t> g_live_h2{0};

constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kWriteBatch = 64 * 1024;
// Inner sessions' bytes are read here, on the shard's thread, and decoded at once.
thread_local std::array<char, kReadChunk> t_pair_scratch;
constexpr uint32_t kMaxConcurrentStreams = 250;  // Go's http2 server default
constexpr uint32_t kHeaderLimit = (1u << 20) + 4096;  // as server/http_server.cc

bool connection_specific(std::string_view lower) {
  return lower == "connection" || lower == "keep-alive" || lower == "transfer-encoding" ||
         lower == "upgrade" || lower == "proxy-connection";
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

// ------------------------------------------------------------ Http1ResponseDecoder

bool Http1ResponseDecoder::parse_head(std::string_view head) {
  // "HTTP/1.1 200 OK"
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ') {
    return false;
  }
  int code = 0;
  auto [p, err] = std::from_chars(line.data() + 9, line.data() + 12, code);
  if (err != std::errc() || p != line.data() + 12 || code < 100 || code > 999) {
    return false;
  }
  status_ = code;
  bool chunked = false;
  std::optional<uint64_t> length;
  std::string_view rest = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
  while (!rest.empty()) {
    size_t e = rest.find("\r\n");
    std::string_view h = rest.substr(0, e);
    rest = e == std::string_view::npos ? std::string_view() : rest.substr(e + 2);
    if (h.empty()) {
      continue;
    }
    size_t colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return false;
    }
    std::string name = ascii_lower(h.substr(0, colon));
    std::string_view value = trim(h.substr(colon + 1));
    if (name == "transfer-encoding") {
      chunked = ascii_lower(value).find("chunked") != std::string::npos;
    } else if (name == "content-length") {
      uint64_t n = 0;
      auto [q, e2] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (e2 != std::errc() || q != value.data() + value.size()) {
        return false;
      }
      length = n;
    }
    if (!connection_specific(name)) {
      headers_.emplace_back(std::move(name), std::string(value));
    }
  }
  if (status_ < 200) {
    return false;  // interim responses are not expected from the inner session
  }
  if (status_ == 204 || status_ == 304) {
    state_ = State::kDone;
  } else if (chunked) {
    state_ = State::kChunkSize;
  } else if (length) {
    left_ = *length;
    state_ = left_ == 0 ? State::kDone : State::kLength;
  } else {
    state_ = State::kToEof;
  }
  return true;
}

bool Http1ResponseDecoder::feed(std::string_view in, std::string& body) {
  constexpr size_t kMaxHead = 1 << 20;
  constexpr size_t kMaxLine = 4096;
  while (!in.empty()) {
    switch (state_) {
      case State::kFailed:
        return false;
      case State::kDone:
        return true;  // bytes after the response are ignored (the pair closes)
      case State::kHead: {
        size_t old = pending_.size();
        pending_.append(in);
        size_t end = pending_.find("\r\n\r\n", old >= 3 ? old - 3 : 0);
        if (end == std::string::npos) {
          if (pending_.size() > kMaxHead) {
            state_ = State::kFailed;
            return false;
          }
          return true;
        }
        size_t used = end + 4 - old;
        std::string head = pending_.substr(0, end + 2);
        pending_.clear();
        if (!parse_head(head)) {
          state_ = State::kFailed;
          return false;
        }
        in.remove_prefix(used);
        break;
      }
      case State::kChunkSize:
      case State::kChunkDataEnd:
      case State::kTrailers: {
        size_t nl = in.find('\n');
        if (nl == std::string_view::npos) {
          pending_.append(in);
          if (pending_.size() > kMaxLine) {
            state_ = State::kFailed;
            return false;
          }
          return true;
        }
        pending_.append(in.substr(0, nl + 1));
        in.remove_prefix(nl + 1);
        std::string_view line = pending_;
        line.remove_suffix(1);
        if (!line.empty() && line.back() == '\r') {
          line.remove_suffix(1);
        }
        if (state_ == State::kChunkDataEnd) {
          if (!line.empty()) {
            state_ = State::kFailed;
            return false;
          }
          state_ = State::kChunkSize;
        } else if (state_ == State::kTrailers) {
          if (line.empty()) {
            state_ = State::kDone;
          }
        } else {
          std::string_view hex = line.substr(0, line.find(';'));
          hex = trim(hex);
          uint64_t n = 0;
          auto [p, err] = std::from_chars(hex.data(), hex.data() + hex.size(), n, 16);
          if (hex.empty() || err != std::errc() || p != hex.data() + hex.size()) {
            state_ = State::kFailed;
            return false;
          }
          left_ = n;
          state_ = n == 0 ? State::kTrailers : State::kChunkData;
        }
        pending_.clear();
        break;
      }
      case State::kChunkData:
      case State::kLength: {
        size_t take = static_cast<size_t>(std::min<uint64_t>(left_, in.size()));
        body.append(in.substr(0, take));
        in.remove_prefix(take);
        left_ -= take;
        if (left_ == 0) {
          state_ = state_ == State::kChunkData ? State::kChunkDataEnd : State::kDone;
        }
        break;
      }
      case State::kToEof:
        body.append(in);
        return true;
    }
  }
  return state_ != State::kFailed;
}

bool Http1ResponseDecoder::eof() {
  if (state_ == State::kToEof) {
    state_ = State::kDone;
  }
  return state_ == State::kDone;
}

// ------------------------------------------------------------ H2Connection

struct H2Connection::Stream {
  explicit Stream(int32_t i, const ByteStream::executor_type& ex) : id(i), pair(ex) {}
  int32_t id;
  std::string method, path, authority;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string cookie;        // cookie fields joined with "; " (RFC 9113 §8.2.3)
  size_t header_bytes = 0;
  std::optional<uint64_t> content_length;  // as announced by the request
  uint64_t body_limit = 0;  // the route's bound, known once the header block is complete
  std::string body;
  bool headers_done = false;  // the request's header block is complete
  bool rejected = false;    // answered here (413, 431) or reset: the rest of the request is ignored
  bool dispatched = false;
  // Until the header block is complete: its deadline; then until END_STREAM: the body's
  // (also while a refused body is dropped); none (epoch) once the request has ended.
  Clock::time_point deadline{};
  ByteStream::Socket pair;  // our end of the socket pair; the inner HTTP/1.1 session has the other
  std::string request;      // the serialized HTTP/1.1 request being written
  Http1ResponseDecoder decoder;
  std::string out;          // decoded response body not yet taken by nghttp2
  size_t out_off = 0;
  bool reading = false;
  bool source_done = false;  // the response body is complete (or the pair ended)
  bool submitted = false;    // HEADERS submitted
  bool deferred = false;     // the data provider deferred: resume when bytes arrive
  bool gone = false;         // closed by nghttp2
  size_t buffered() const { return out.size() - out_off; }
};

struct H2Connection::Callbacks {
  static H2Connection* self(void* user) { return static_cast<H2Connection*>(user); }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
      return 0;
    }
    auto* c = self(user);
    auto st = std::make_shared<Stream>(frame->hd.stream_id, c->stream_.get_executor());
    st->deadline = Clock::now() + c->opts_.header_timeout;
    c->streams_[frame->hd.stream_id] = std::move(st);
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                       void* user) {
    // Trailer fields (a second header block) are not passed on, as before.
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
      return 0;
    }
    auto* c = self(user);
    auto it = c->streams_.find(frame->hd.stream_id);
    if (it == c->streams_.end()) {
      return 0;
    }
    Stream& st = *it->second;
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    if (st.rejected) {
      return 0;
    }
    // The HTTP/1.1 path's header bound (Go's 1 MB + 4096): beyond it 431, as there.
    st.header_bytes += namelen + valuelen + 32;
    if (st.header_bytes > kHeaderLimit) {
      c->reject(st, 431);
      return 0;
    }
    if (n == ":method") {
      st.method = v;
    } else if (n == ":path") {
      st.path = v;
    } else if (n == ":authority") {
      st.authority = v;
    } else if (!n.empty() && n[0] == ':') {
      // :scheme; :protocol (extended CONNECT) is refused by nghttp2 unless enabled
    } else if (n == "host") {
      if (st.authority.empty()) {
        st.authority = v;
      }
    } else if (n == "cookie") {
      st.cookie.append(st.cookie.empty() ? "" : "; ").append(v);
    } else if (n == "content-length") {
      // nghttp2 has checked the syntax and checks the DATA length against it.
      uint64_t len = 0;
      auto [p, err] = std::from_chars(v.data(), v.data() + v.size(), len);
      if (err == std::errc() && p == v.data() + v.size()) {
        st.content_length = len;
      }
    } else if (n != "expect" && !connection_specific(n) && n != "te") {
      st.headers.emplace_back(std::string(n), std::string(v));
    }
    return 0;
  }

  static int on_data_chunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                           size_t len, void* user) {
    auto* c = self(user);
    auto it = c->streams_.find(stream_id);
    if (it == c->streams_.end() || it->second->rejected) {
      return 0;
    }
    Stream& st = *it->second;
    if (st.body.size() + len > st.body_limit) {
      c->reject(st, 413);
      return 0;
    }
    st.body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) {
      return 0;
    }
    auto* c = self(user);
    auto it = c->streams_.find(frame->hd.stream_id);
    if (it == c->streams_.end()) {
      return 0;
    }
    const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      c->headers_complete(it->second, end_stream);
    } else if (end_stream) {
      it->second->deadline = {};
      if (!it->second->rejected && !it->second->dispatched) {
        c->dispatch(it->second);
      }
    }
    return 0;
  }

  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t, void* user) {
    self(user)->close_stream(stream_id);
    return 0;
  }

  static ssize_t read_data(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length,
                           uint32_t* flags, nghttp2_data_source*, void* user) {
    auto* c = self(user);
    auto it = c->streams_.find(stream_id);
    if (it == c->streams_.end()) {
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    auto st = it->second;
    size_t n = std::min(length, st->buffered());
    std::memcpy(buf, st->out.data() + st->out_off, n);
    st->out_off += n;
    if (st->out_off == st->out.size()) {
      st->out.clear();
      st->out_off = 0;
    }
    if (st->buffered() == 0 && st->source_done) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    }
    if (n == 0) {
      st->deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    c->read_pair(st);  // room again: take more from the inner session
    return static_cast<ssize_t>(n);
  }
};

size_t H2Connection::live_connections() { return g_live_h2.load(std::memory_order_relaxed); }

H2Connection::H2Connection(ByteStream stream, H2Options opts)
    : stream_(std::move(stream)), opts_(std::move(opts)), timer_(stream_.get_executor()) {
  g_live_h2.fetch_add(1, std::memory_order_relaxed);
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &Callbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &Callbacks::on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &Callbacks::on_data_chunk);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &Callbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &Callbacks::on_stream_close);
  nghttp2_session_server_new(&session_, cbs, this);
  nghttp2_session_callbacks_del(cbs);
  idle_since_ = Clock::now();
}

H2Connection::~H2Connection() {
  if (session_ != nullptr) {
    nghttp2_session_del(session_);
  }
  g_live_h2.fetch_sub(1, std::memory_order_relaxed);
}

void H2Connection::start(std::string_view initial) {
  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams},
                                 {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, kHeaderLimit}};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, iv, 2);
  tick();
  if (!initial.empty()) {
    receive(initial.data(), initial.size());
    if (closed_) {
      return;
    }
  }
  flush();
  read();
}

void H2Connection::receive(const char* data, size_t n) {
  ssize_t r = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data), n);
  if (r < 0) {
    // A protocol error: nghttp2 has queued GOAWAY where one is due; send it, then close.
    nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
  }
}

void H2Connection::read() {
  if (closed_) {
    return;
  }
  rbuf_.resize(kReadChunk);
  stream_.async_read_some(asio::buffer(rbuf_.data(), rbuf_.size()),
                          [self = shared_from_this()](error_code ec, size_t n) {
                            if (self->closed_) {
                              return;
                            }
                            if (ec) {
                              self->terminate();
                              return;
                            }
                            self->receive(self->rbuf_.data(), n);
                            self->maybe_goaway();
                            self->flush();
                            self->read();
                          });
}

void H2Connection::flush() {
  if (writing_ || closed_) {
    return;
  }
  wbuf_.clear();
  while (wbuf_.size() < kWriteBatch) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      terminate();
      return;
    }
    if (n == 0) {
      break;
    }
    wbuf_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  if (wbuf_.empty()) {
    if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) {
      terminate();  // GOAWAY went out and nothing is left
    }
    return;
  }
  writing_ = true;
  asio::async_write(stream_, asio::buffer(wbuf_),
                    [self = shared_from_this()](error_code ec, size_t) {
                      self->writing_ = false;
                      if (ec) {
                        self->terminate();
                        return;
                      }
                      self->flush();
                    });
}

void H2Connection::terminate() {
  if (closed_) {
    return;
  }
  closed_ = true;
  timer_.cancel();
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, st] : streams) {
    st->gone = true;
    error_code ec;
    st->pair.close(ec);  // the inner session sees the end of its client
  }
  stream_.close();
}

// GOAWAY once the node shuts down (or the connection idled out); the connection then ends
// with its last stream.
void H2Connection::maybe_goaway() {
  if (closed_) {
    return;
  }
  const bool stopping = opts_.shutting_down && opts_.shutting_down();
  const bool idle = streams_.empty() && Clock::now() - idle_since_ >= opts_.idle_timeout;
  if (!goaway_ && (stopping || idle)) {
    goaway_ = true;
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                          nullptr, 0);
  }
  if (goaway_ && streams_.empty()) {
    nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
  }
}

// The request deadlines, the idle timeout and shutdown: once a second (a quarter of the
// shortest timeout when that is less), every 50 ms while the node stops.
void H2Connection::tick() {
  using std::chrono::milliseconds;
  const bool stopping = opts_.shutting_down && opts_.shutting_down();
  const milliseconds shortest =
      std::min({opts_.header_timeout, opts_.body_timeout, opts_.idle_timeout});
  const milliseconds period = std::clamp(shortest / 4, milliseconds(10), milliseconds(1000));
  timer_.expires_after(stopping ? std::min(period, milliseconds(50)) : period);
  timer_.async_wait([self = shared_from_this()](error_code ec) {
    if (ec || self->closed_) {
      return;
    }
    self->expire_streams();
    self->maybe_goaway();
    self->flush();
    if (!self->closed_) {
      self->tick();
    }
  });
}

namespace {

// Submits a response head (`:status`, then `headers`); `prd` null: no body.
void submit_head(nghttp2_session* session, int32_t id, int status,
                 const std::vector<std::pair<std::string, std::string>>& headers,
                 const nghttp2_data_provider* prd) {
  static const std::string kStatus = ":status";
  const std::string code = std::to_string(status);
  std::vector<nghttp2_nv> nv;
  nv.reserve(headers.size() + 1);
  auto add = [&nv](const std::string& n, const std::string& v) {
    nv.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                  reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                  NGHTTP2_NV_FLAG_NONE});
  };
  add(kStatus, code);
  for (const auto& [n, v] : headers) {
    add(n, v);
  }
  nghttp2_submit_response(session, id, nv.data(), nv.size(), prd);
}

}  // namespace

// An answer of this side without a body: the headers the HTTP/1.1 path sends with it (Date,
// Content-Length: 0), read back from the same serializer.
void H2Connection::submit_simple(int32_t id, int status) {
  Http1ResponseDecoder head;
  std::string body;
  head.feed(http::simple_response(status, "", "", "", true), body);
  submit_head(session_, id, status, head.headers(), nullptr);
}

// The answer goes out at once; the rest of the request is read and dropped, within the
// deadline it had (the header block's, or the body's: a client that never ends the stream is
// reset then). No RST_STREAM NO_ERROR after the answer (RFC 9113 §8.1 allows it): curl 7.88
// reports that as a failed transfer while it is still uploading.
void H2Connection::reject(Stream& st, int status) {
  st.rejected = true;
  st.headers.clear();
  std::string().swap(st.cookie);
  std::string().swap(st.body);
  submit_simple(st.id, status);
}

// The request's header block is complete: its route's body bound applies from here (an
// announced Content-Length over it is refused before any DATA, as the HTTP/1.1 path does),
// and its body has the body deadline.
void H2Connection::headers_complete(const std::shared_ptr<Stream>& st, bool end_stream) {
  st->headers_done = true;
  st->deadline = end_stream ? Clock::time_point{} : Clock::now() + opts_.body_timeout;
  if (st->rejected) {
    return;  // 431: answered already
  }
  std::string_view path = st->path;
  path = path.substr(0, path.find('?'));
  st->body_limit = opts_.body_limit ? opts_.body_limit(path) : uint64_t{1} << 20;
  if (st->content_length && *st->content_length > st->body_limit) {
    reject(*st, 413);
  } else if (end_stream) {
    dispatch(st);
  }
}

// Streams past their deadline. A header block that did not complete in time: no other frame
// may come on the connection before it ends (RFC 9113 §6.10), so the connection is closed
// with GOAWAY, as the HTTP/1.1 path closes its connection. A body that did not (kept, or
// dropped after a 413): the stream is reset (CANCEL); the connection's other streams go on.
void H2Connection::expire_streams() {
  const auto now = Clock::now();
  for (auto& [id, st] : streams_) {
    if (st->deadline == Clock::time_point{} || now < st->deadline) {
      continue;
    }
    if (!st->headers_done) {
      goaway_ = true;
      nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
      return;
    }
    st->deadline = {};
    st->rejected = true;
    std::string().swap(st->body);
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  }
}

void H2Connection::dispatch(const std::shared_ptr<Stream>& st) {
  st->dispatched = true;
  st->deadline = {};
  if (st->method.empty() || st->path.empty() || st->method == "CONNECT") {
    submit_simple(st->id, 400);
    return;
  }
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
    submit_simple(st->id, 503);
    return;
  }
  ByteStream::Socket inner(stream_.get_executor());
  error_code ec1;
  error_code ec2;
  st->pair.assign(tcp::v4(), fds[0], ec1);
  if (!ec1) {
    error_code nb;  // the fd is O_NONBLOCK already; this tells Asio not to poll in read_some
    st->pair.non_blocking(true, nb);
  }
  inner.assign(tcp::v4(), fds[1], ec2);
  if (ec1 || ec2) {
    if (ec1) {
      ::close(fds[0]);
    }
    if (ec2) {
      ::close(fds[1]);
    }
    st->pair.close(ec1);
    submit_simple(st->id, 503);
    return;
  }
  // The HTTP/1.1 request the inner session parses: one request, then it closes.
  std::string& r = st->request;
  r.reserve(256 + st->body.size());
  r.append(st->method).append(" ").append(st->path).append(" HTTP/1.1\r\n");
  r.append("Host: ").append(st->authority).append("\r\n");
  for (const auto& [n, v] : st->headers) {
    r.append(n).append(": ").append(v).append("\r\n");
  }
  if (!st->cookie.empty()) {
    r.append("cookie: ").append(st->cookie).append("\r\n");
  }
  if (!st->body.empty() || st->method == "POST" || st->method == "PUT") {
    r.append("Content-Length: ").append(std::to_string(st->body.size())).append("\r\n");
  }
  r.append("Connection: close\r\n\r\n");
  r.append(st->body);
  std::string().swap(st->body);
  st->headers.clear();
  opts_.serve_http1(std::move(inner));
  asio::async_write(st->pair, asio::buffer(st->request),
                    [self = shared_from_this(), st](error_code, size_t) {
                      std::string().swap(st->request);
                      if (st->gone || self->closed_) {
                        return;
                      }
                      // On a write error too: the inner session may have answered early
                      // (413 on a Content-Length over its route's limit) and closed.
                      self->read_pair(st);
                    });
}

// Waits for the inner session's bytes, then reads them into per-thread scratch: an idle
// long-lived stream holds no read buffer.
void H2Connection::read_pair(const std::shared_ptr<Stream>& st) {
  if (st->reading || st->source_done || st->gone || closed_ ||
      st->buffered() >= opts_.stream_buffer) {
    return;
  }
  st->reading = true;
  st->pair.async_wait(tcp::socket::wait_read, [self = shared_from_this(), st](error_code ec) {
    st->reading = false;
    if (st->gone || self->closed_) {
      return;
    }
    if (ec) {
      self->on_pair_data(st, {}, ec);
      return;
    }
    auto& scratch = t_pair_scratch;
    size_t n = st->pair.read_some(asio::buffer(scratch.data(), scratch.size()), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      self->read_pair(st);  // a spurious wake-up
      return;
    }
    self->on_pair_data(st, std::string_view(scratch.data(), n), ec);
  });
}

void H2Connection::on_pair_data(const std::shared_ptr<Stream>& st, std::string_view data,
                                error_code ec) {
  bool ok = true;
  if (ec) {
    ok = st->decoder.eof();
    st->source_done = true;
  } else {
    ok = st->decoder.feed(data, st->out);
    if (st->decoder.done()) {
      st->source_done = true;
    }
  }
  if (!ok && !st->submitted && !st->decoder.head_done()) {
    // The inner session ended without a response (or a malformed one).
    st->source_done = true;
    submit_simple(st->id, 502);
    st->submitted = true;
  } else if (!ok) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
  } else if (st->decoder.head_done()) {
    if (!st->submitted) {
      submit_response(st);
    } else if (st->deferred && (st->buffered() > 0 || st->source_done)) {
      st->deferred = false;
      nghttp2_session_resume_data(session_, st->id);
    }
  }
  if (st->source_done) {
    error_code ignored;
    st->pair.close(ignored);
  }
  maybe_goaway();
  flush();
  read_pair(st);
}

void H2Connection::submit_response(const std::shared_ptr<Stream>& st) {
  st->submitted = true;
  if (!st->decoder.head_done()) {
    submit_simple(st->id, 502);
    return;
  }
  nghttp2_data_provider prd{};
  prd.source.ptr = nullptr;
  prd.read_callback = &Callbacks::read_data;
  submit_head(session_, st->id, st->decoder.status(), st->decoder.headers(), &prd);
}

void H2Connection::close_stream(int32_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end()) {
    return;
  }
  auto st = it->second;
  streams_.erase(it);
  st->gone = true;
  error_code ec;
  st->pair.close(ec);  // a reset long-lived stream: the inner session ends with its client
  if (streams_.empty()) {
    idle_since_ = Clock::now();
  }
}

}  // namespace gyre::transport
