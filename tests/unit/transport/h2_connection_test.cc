#include "transport/h2_connection.h"

#include "tls/server_tls.h"  // ByteStream(socket) destroys a null TlsConnection

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gyre::transport {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// ------------------------------------------------------------ Http1ResponseDecoder

std::string decode_split(std::string_view in, size_t step, Http1ResponseDecoder& d, bool& ok) {
  std::string body;
  ok = true;
  for (size_t i = 0; i < in.size() && ok; i += step) {
    ok = d.feed(in.substr(i, step), body);
  }
  return body;
}

TEST(Http1ResponseDecoder, ChunkedBodyAcrossEverySplitHeadersLowercasedConnectionOnesDropped) {
  const std::string resp =
      "HTTP/1.1 200 OK\r\nCache-Control: no-cache\r\nConnection: keep-alive\r\n"
      "Content-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\n";
  for (size_t step = 1; step <= resp.size(); ++step) {
    Http1ResponseDecoder d;
    bool ok = false;
    std::string body = decode_split(resp, step, d, ok);
    ASSERT_TRUE(ok) << step;
    EXPECT_TRUE(d.done()) << step;
    EXPECT_EQ(body, "helloabcdefghijklmnopqrstuvwxyz") << step;
    EXPECT_EQ(d.status(), 200);
    std::vector<std::pair<std::string, std::string>> want{
        {"cache-control", "no-cache"}, {"content-type", "text/event-stream"}};
    EXPECT_EQ(d.headers(), want);
  }
}

TEST(Http1ResponseDecoder, ContentLengthBodyEndsTheResponse) {
  Http1ResponseDecoder d;
  std::string body;
  ASSERT_TRUE(d.feed("HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nabcdEXTRA", body));
  EXPECT_TRUE(d.done());
  EXPECT_EQ(d.status(), 401);
  EXPECT_EQ(body, "abcd");
  ASSERT_EQ(d.headers().size(), 1u);
  EXPECT_EQ(d.headers()[0].first, "content-length");
}

TEST(Http1ResponseDecoder, BodyUntilEofAndNoBodyStatuses) {
  Http1ResponseDecoder d;
  std::string body;
  ASSERT_TRUE(d.feed("HTTP/1.1 200 OK\r\n\r\nabc", body));
  EXPECT_FALSE(d.done());
  EXPECT_TRUE(d.eof());
  EXPECT_EQ(body, "abc");
  Http1ResponseDecoder e;
  ASSERT_TRUE(e.feed("HTTP/1.1 204 No Content\r\n\r\n", body));
  EXPECT_TRUE(e.done());
}

TEST(Http1ResponseDecoder, MalformedAndCutResponsesFail) {
  for (std::string_view bad :
       {"HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n", "garbage\r\n\r\n",
        "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n",
        "HTTP/1.1 100 Continue\r\n\r\n"}) {
    Http1ResponseDecoder d;
    std::string body;
    EXPECT_FALSE(d.feed(bad, body)) << bad;
  }
  Http1ResponseDecoder cut;
  std::string body;
  ASSERT_TRUE(cut.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", body));
  EXPECT_FALSE(cut.eof());
  Http1ResponseDecoder head;
  ASSERT_TRUE(head.feed("HTTP/1.1 200 OK\r\n", body));
  EXPECT_FALSE(head.eof());
  EXPECT_FALSE(head.head_done());
}

// ------------------------------------------------------------ H2Connection

// An nghttp2 client over one end of a socket pair; the H2Connection has the other end (a plain
// ByteStream: the adapter does not care about TLS). Inner HTTP/1.1 sessions are the test's:
// it reads the serialized request and writes a response by hand.
class H2ConnectionTest : public ::testing::Test {
 protected:
  struct Response {
    std::map<std::string, std::string> headers;
    std::string body;
    bool closed = false;
    uint32_t error = 0;
  };

  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    client_fd_ = fds[0];
    ByteStream::Socket server(io_);
    server.assign(tcp::v4(), fds[1]);
    H2Options o = options();
    o.serve_http1 = [this](ByteStream::Socket s) { inner_.push_back(std::move(s)); };
    o.shutting_down = [] { return false; };
    conn_ = std::make_shared<H2Connection>(ByteStream(std::move(server)), std::move(o));
    conn_->start("");

    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(
        cbs, [](nghttp2_session*, const nghttp2_frame* f, const uint8_t* n, size_t nl,
                const uint8_t* v, size_t vl, uint8_t, void* u) {
          auto& h = static_cast<H2ConnectionTest*>(u)->responses_[f->hd.stream_id].headers;
          h[std::string(reinterpret_cast<const char*>(n), nl)] =
              std::string(reinterpret_cast<const char*>(v), vl);
          return 0;
        });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cbs, [](nghttp2_session*, uint8_t, int32_t id, const uint8_t* d, size_t len, void* u) {
          static_cast<H2ConnectionTest*>(u)->responses_[id].body.append(
              reinterpret_cast<const char*>(d), len);
          return 0;
        });
    nghttp2_session_callbacks_set_on_frame_recv_callback(
        cbs, [](nghttp2_session*, const nghttp2_frame* f, void* u) {
          auto* t = static_cast<H2ConnectionTest*>(u);
          if (f->hd.type == NGHTTP2_SETTINGS) {
            ((f->hd.flags & NGHTTP2_FLAG_ACK) != 0 ? t->settings_acked_ : t->got_settings_) = true;
          } else if (f->hd.type == NGHTTP2_GOAWAY) {
            t->goaway_ = f->goaway.error_code;
          } else if (f->hd.type == NGHTTP2_RST_STREAM) {
            t->resets_[f->hd.stream_id] = f->rst_stream.error_code;
          }
          return 0;
        });
    nghttp2_session_callbacks_set_on_stream_close_callback(
        cbs, [](nghttp2_session*, int32_t id, uint32_t err, void* u) {
          auto& r = static_cast<H2ConnectionTest*>(u)->responses_[id];
          r.closed = true;
          r.error = err;
          return 0;
        });
    nghttp2_option* opt = nullptr;
    nghttp2_option_new(&opt);
    nghttp2_option_set_max_send_header_block_length(opt, 4 << 20);
    nghttp2_session_client_new2(&client_, cbs, this, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(client_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }

  // Bodies up to 16 bytes ("/big": 1000); the HTTP/1.1 path's deadlines unless a test
  // fixture shortens them.
  virtual H2Options options() {
    H2Options o;
    o.body_limit = [](std::string_view path) -> uint64_t { return path == "/big" ? 1000 : 16; };
    return o;
  }

  void TearDown() override {
    nghttp2_session_del(client_);
    ::close(client_fd_);
    inner_.clear();
    conn_.reset();
    io_.poll();
  }

  using Fields = std::vector<std::pair<std::string, std::string>>;

  // nghttp2's view of `headers` (which must outlive it).
  static std::vector<nghttp2_nv> name_values(Fields& headers) {
    std::vector<nghttp2_nv> nv;
    for (auto& [n, v] : headers) {
      nv.push_back({reinterpret_cast<uint8_t*>(n.data()), reinterpret_cast<uint8_t*>(v.data()),
                    n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    }
    return nv;
  }

  // A data provider sending request_body_ (the end of the stream only if the caller says so).
  nghttp2_data_provider body_provider(std::string body) {
    request_body_ = std::move(body);
    nghttp2_data_provider prd{};
    prd.read_callback = [](nghttp2_session*, int32_t, uint8_t* buf, size_t len, uint32_t* flags,
                           nghttp2_data_source*, void* u) -> ssize_t {
      auto& b = static_cast<H2ConnectionTest*>(u)->request_body_;
      size_t n = std::min(len, b.size());
      std::memcpy(buf, b.data(), n);
      b.erase(0, n);
      if (b.empty()) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
      }
      return static_cast<ssize_t>(n);
    };
    return prd;
  }

  int32_t request(Fields headers, std::string body = "", bool has_body = false) {
    auto nv = name_values(headers);
    nghttp2_data_provider prd = body_provider(std::move(body));
    return nghttp2_submit_request(client_, nullptr, nv.data(), nv.size(),
                                  has_body ? &prd : nullptr, nullptr);
  }

  // Opens a stream with HEADERS only: no END_STREAM, no body yet.
  int32_t open_stream(Fields headers) {
    auto nv = name_values(headers);
    return nghttp2_submit_headers(client_, NGHTTP2_FLAG_NONE, -1, nullptr, nv.data(), nv.size(),
                                  nullptr);
  }

  // Sends `data` on stream `id` as DATA without END_STREAM: the body stays open.
  int send_data(int32_t id, std::string data) {
    nghttp2_data_provider prd = body_provider(std::move(data));
    return nghttp2_submit_data(client_, NGHTTP2_FLAG_NONE, id, &prd);
  }

  // Lets at least `d` (< 30 s) pass while moving bytes both ways.
  void pump_for(std::chrono::milliseconds d) {
    const auto end = std::chrono::steady_clock::now() + d;
    pump([&] { return std::chrono::steady_clock::now() >= end; }, 1 << 30);
  }

  // The connection preface and both SETTINGS exchanged (and acknowledged): the client has
  // nothing left to send.
  bool settled() {
    return pump([&] {
      return got_settings_ && settings_acked_ && client_out_.empty() &&
             nghttp2_session_want_write(client_) == 0;
    });
  }

  // Moves bytes both ways until `done` or nothing moves for many rounds (a timer of the
  // connection firing counts as movement).
  // `patience`: rounds without progress before giving up (each sleeps at least 100 µs).
  template <class Pred>
  bool pump(Pred done, int patience = 2000) {
    // A bound for a connection whose timers keep it moving: a missing outcome fails the test
    // instead of hanging it (not a latency bound: the outcomes awaited come within 1 s).
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    int idle = 0;
    while (!done() && idle < patience && std::chrono::steady_clock::now() < give_up) {
      bool moved = io_.poll() > 0;
      const uint8_t* out = nullptr;
      for (ssize_t n; (n = nghttp2_session_mem_send(client_, &out)) > 0;) {
        client_out_.append(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
      }
      if (!client_out_.empty()) {
        ssize_t sent = ::send(client_fd_, client_out_.data(), client_out_.size(), MSG_NOSIGNAL);
        EXPECT_TRUE(sent > 0 || errno == EAGAIN) << std::strerror(errno);
        if (sent > 0) {
          client_out_.erase(0, static_cast<size_t>(sent));
          moved = true;
        }
      }
      char buf[16384];
      ssize_t got = ::recv(client_fd_, buf, sizeof buf, 0);
      if (got > 0) {
        EXPECT_EQ(nghttp2_session_mem_recv(client_, reinterpret_cast<uint8_t*>(buf),
                                           static_cast<size_t>(got)),
                  got);
        moved = true;
      } else if (got == 0) {
        eof_ = true;
      }
      idle = moved ? 0 : idle + 1;
      if (!moved) {
        ::usleep(100);
      }
    }
    return done();
  }

  // What inner session `i` received (its request ends at the blank line plus `body` bytes).
  std::string inner_request(size_t i, size_t body = 0) {
    std::string got;
    pump([&] {
      if (inner_.size() <= i) {
        return false;
      }
      char buf[4096];
      ssize_t n = ::recv(inner_[i].native_handle(), buf, sizeof buf, 0);
      if (n > 0) {
        got.append(buf, static_cast<size_t>(n));
      }
      size_t end = got.find("\r\n\r\n");
      return end != std::string::npos && got.size() >= end + 4 + body;
    });
    return got;
  }

  void inner_write(size_t i, std::string_view s) {
    ASSERT_EQ(::send(inner_[i].native_handle(), s.data(), s.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(s.size()));
  }

  asio::io_context io_;
  int client_fd_ = -1;
  nghttp2_session* client_ = nullptr;
  std::shared_ptr<H2Connection> conn_;
  std::vector<ByteStream::Socket> inner_;
  std::map<int32_t, Response> responses_;
  std::string request_body_;
  std::string client_out_;  // client frames the socket has not taken yet
  std::optional<uint32_t> goaway_;            // the error code of a GOAWAY received
  std::map<int32_t, uint32_t> resets_;        // RST_STREAM received: stream -> error code
  bool eof_ = false;                          // the server closed the connection
  bool got_settings_ = false;                 // the server's SETTINGS arrived
  bool settings_acked_ = false;               // the server acknowledged the client's
};

TEST_F(H2ConnectionTest, RequestBecomesHttp1AndChunkedResponseBecomesHeadersAndData) {
  int32_t id = request({{":method", "GET"}, {":scheme", "https"}, {":authority", "example:443"},
                        {":path", "/connection/sse?cf_connect=%7B%7D"}, {"x-a", "1"},
                        {"te", "trailers"}});
  ASSERT_GT(id, 0);
  EXPECT_EQ(inner_request(0),
            "GET /connection/sse?cf_connect=%7B%7D HTTP/1.1\r\nHost: example:443\r\nx-a: 1\r\n"
            "Connection: close\r\n\r\n");
  inner_write(0,
              "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Type: text/event-stream\r\n"
              "Transfer-Encoding: chunked\r\n\r\n6\r\ndata: \r\n");
  ASSERT_TRUE(pump([&] { return responses_[id].body == "data: "; }));
  EXPECT_FALSE(responses_[id].closed);  // a long-lived body goes out as it arrives
  inner_write(0, "3\r\nabc\r\n0\r\n\r\n");
  ASSERT_TRUE(pump([&] { return responses_[id].closed; }));
  EXPECT_EQ(responses_[id].error, 0u);
  EXPECT_EQ(responses_[id].body, "data: abc");
  std::map<std::string, std::string> want{{":status", "200"},
                                          {"content-type", "text/event-stream"}};
  EXPECT_EQ(responses_[id].headers, want);
}

TEST_F(H2ConnectionTest, PostBodyGetsContentLength) {
  int32_t id = request({{":method", "POST"}, {":scheme", "https"}, {":authority", "h"},
                        {":path", "/api/info"}, {"content-length", "2"}},
                       "{}", true);
  EXPECT_EQ(inner_request(0, 2),
            "POST /api/info HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nConnection: close\r\n"
            "\r\n{}");
  inner_write(0, "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n{\"result\":{}}");
  ASSERT_TRUE(pump([&] { return responses_[id].closed; }));
  EXPECT_EQ(responses_[id].body, "{\"result\":{}}");
  EXPECT_EQ(responses_[id].headers[":status"], "200");
  EXPECT_EQ(responses_[id].headers["content-length"], "13");
}

TEST_F(H2ConnectionTest, InnerSessionEndingWithoutResponseIs502OversizedBodyIs413) {
  int32_t a =
      request({{":method", "GET"}, {":scheme", "https"}, {":authority", "h"}, {":path", "/"}});
  inner_request(0);
  inner_[0].close();
  ASSERT_TRUE(pump([&] { return responses_[a].closed; }));
  EXPECT_EQ(responses_[a].headers[":status"], "502");
  int32_t b = request({{":method", "POST"}, {":scheme", "https"}, {":authority", "h"},
                       {":path", "/api"}},
                      std::string(17, 'x'), true);
  ASSERT_TRUE(pump([&] { return responses_[b].closed; }));
  EXPECT_EQ(responses_[b].headers[":status"], "413");
  EXPECT_EQ(inner_.size(), 1u);  // never reached an inner session
}

TEST_F(H2ConnectionTest, CookieFieldsAreJoinedIntoOneHeader) {
  request({{":method", "GET"}, {":scheme", "https"}, {":authority", "h"}, {":path", "/"},
           {"cookie", "a=1"}, {"cookie", "b=2"}});
  EXPECT_EQ(inner_request(0),
            "GET / HTTP/1.1\r\nHost: h\r\ncookie: a=1; b=2\r\nConnection: close\r\n\r\n");
}

// A 1.2 MB header block: Debian's nghttp2 refuses its CONTINUATION run (CVE-2024-28182 limit)
// with a connection error before Gyre's own 1 MB bound (431) is reached; no inner session.
TEST_F(H2ConnectionTest, HugeHeaderBlockEndsTheConnection) {
  std::vector<std::pair<std::string, std::string>> big{
      {":method", "GET"}, {":scheme", "https"}, {":authority", "h"}, {":path", "/"}};
  for (int i = 0; i < 20; ++i) {
    big.emplace_back("x-big-" + std::to_string(i), std::string(60000, 'a'));
  }
  request(big);
  const uint8_t* out = nullptr;
  for (ssize_t n; (n = nghttp2_session_mem_send(client_, &out)) > 0;) {
    client_out_.append(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
  }
  bool eof = false;
  char buf[16384];
  for (int i = 0; i < 20000 && !eof; ++i) {
    io_.poll();
    if (!client_out_.empty()) {
      ssize_t sent = ::send(client_fd_, client_out_.data(), client_out_.size(), MSG_NOSIGNAL);
      if (sent > 0) {
        client_out_.erase(0, static_cast<size_t>(sent));
      } else if (errno == EPIPE || errno == ECONNRESET) {
        client_out_.clear();
      }
    }
    ssize_t n = ::recv(client_fd_, buf, sizeof buf, 0);
    eof = n == 0 || (n < 0 && errno == ECONNRESET);
    if (n < 0 && !eof) {
      ::usleep(100);
    }
  }
  EXPECT_TRUE(eof);
  EXPECT_TRUE(inner_.empty());
}

TEST_F(H2ConnectionTest, ClientResetClosesTheInnerSessionsEnd) {
  int32_t id = request({{":method", "POST"}, {":scheme", "https"}, {":authority", "h"},
                        {":path", "/connection/http_stream"}},
                       "{}", true);
  inner_request(0, 2);
  inner_write(0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n");
  ASSERT_TRUE(pump([&] { return responses_[id].body == "ab"; }));
  nghttp2_submit_rst_stream(client_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  char c;
  ASSERT_TRUE(pump([&] { return ::recv(inner_[0].native_handle(), &c, 1, 0) == 0; }));  // EOF
}

TEST_F(H2ConnectionTest, GarbageInsteadOfThePrefaceClosesTheConnection) {
  const char junk[] = "GET / HTTP/1.1\r\n\r\n";
  ASSERT_GT(::send(client_fd_, junk, sizeof junk - 1, MSG_NOSIGNAL), 0);
  // No client frames: the server's SETTINGS (and GOAWAY) are read, then the end of the stream.
  char buf[4096];
  bool eof = false;
  for (int i = 0; i < 20000 && !eof; ++i) {
    io_.poll();
    ssize_t n = ::recv(client_fd_, buf, sizeof buf, 0);
    eof = n == 0;
    if (n < 0) {
      ::usleep(100);
    }
  }
  EXPECT_TRUE(eof);
}

// An announced Content-Length over the route's bound is refused when the header block ends,
// before any DATA is read (as the HTTP/1.1 path does), with the HTTP/1.1 path's headers; the
// rest of the body is dropped, no inner session. The same length to a route with a larger
// bound is served.
TEST_F(H2ConnectionTest, ContentLengthOverTheRoutesBoundIs413BeforeAnyBody) {
  int32_t id = open_stream({{":method", "POST"}, {":scheme", "https"}, {":authority", "h"},
                            {":path", "/api/publish?x=1"}, {"content-length", "17"}});
  ASSERT_GT(id, 0);
  ASSERT_TRUE(pump([&] { return responses_[id].headers.count(":status") == 1; }));
  EXPECT_EQ(responses_[id].headers[":status"], "413");
  EXPECT_EQ(responses_[id].headers["content-length"], "0");
  EXPECT_EQ(responses_[id].headers.count("date"), 1u);
  EXPECT_EQ(responses_[id].headers.size(), 3u);
  ASSERT_TRUE(pump([&] { return nghttp2_session_get_stream_local_close(client_, id) == 0; }));
  // The body still comes (the answer is not waited for, as curl does); it ends the stream.
  nghttp2_data_provider prd = body_provider(std::string(17, 'x'));
  ASSERT_EQ(nghttp2_submit_data(client_, NGHTTP2_FLAG_END_STREAM, id, &prd), 0);
  ASSERT_TRUE(pump([&] { return responses_[id].closed; }));
  EXPECT_EQ(responses_[id].error, 0u);
  EXPECT_EQ(resets_.count(id), 0u);
  EXPECT_EQ(responses_[id].body, "");
  EXPECT_TRUE(inner_.empty());
  request({{":method", "POST"}, {":scheme", "https"}, {":authority", "h"}, {":path", "/big"},
           {"content-length", "17"}},
          std::string(17, 'x'), true);
  EXPECT_EQ(inner_request(0, 17),
            "POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 17\r\nConnection: close\r\n\r\n" +
                std::string(17, 'x'));
}

// The HTTP/1.1 path's deadlines, shortened: a request's header block and then its body must
// complete within 100 ms each (idle connections keep the usual 10 s here).
class H2DeadlineTest : public H2ConnectionTest {
 protected:
  H2Options options() override {
    H2Options o = H2ConnectionTest::options();
    o.header_timeout = std::chrono::milliseconds(100);
    o.body_timeout = std::chrono::milliseconds(100);
    return o;
  }
};

// A body that never ends (here 3 bytes of 10, then nothing): the stream is reset with CANCEL
// and never reaches an inner session; the connection's next request is served.
TEST_F(H2DeadlineTest, BodyThatNeverEndsIsResetWithCancelTheConnectionGoesOn) {
  int32_t id = open_stream({{":method", "POST"}, {":scheme", "https"}, {":authority", "h"},
                            {":path", "/api/publish"}, {"content-length", "10"}});
  ASSERT_GT(id, 0);
  ASSERT_TRUE(pump([&] { return nghttp2_session_get_stream_local_close(client_, id) == 0; }));
  ASSERT_EQ(send_data(id, "abc"), 0);
  ASSERT_TRUE(pump([&] { return responses_[id].closed; }, 100000));
  EXPECT_EQ(responses_[id].error, static_cast<uint32_t>(NGHTTP2_CANCEL));
  ASSERT_EQ(resets_.count(id), 1u);
  EXPECT_EQ(resets_[id], static_cast<uint32_t>(NGHTTP2_CANCEL));
  EXPECT_TRUE(responses_[id].headers.empty());  // no response, as HTTP/1.1 closes without one
  EXPECT_TRUE(inner_.empty());
  EXPECT_FALSE(goaway_.has_value());
  request({{":method", "GET"}, {":scheme", "https"}, {":authority", "h"}, {":path", "/"}});
  EXPECT_EQ(inner_request(0), "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
}

// A refused body (413 on its content-length) is dropped only within the body deadline: a
// client that never ends the stream is reset with CANCEL after the answer.
TEST_F(H2DeadlineTest, RefusedBodyThatNeverEndsIsResetWithCancel) {
  int32_t id = open_stream({{":method", "POST"}, {":scheme", "https"}, {":authority", "h"},
                            {":path", "/api/publish"}, {"content-length", "17"}});
  ASSERT_GT(id, 0);
  ASSERT_TRUE(pump([&] { return responses_[id].closed; }, 100000));
  EXPECT_EQ(responses_[id].headers[":status"], "413");
  ASSERT_EQ(resets_.count(id), 1u);
  EXPECT_EQ(resets_[id], static_cast<uint32_t>(NGHTTP2_CANCEL));
  EXPECT_TRUE(inner_.empty());
}

// A header block that never ends (HEADERS without END_HEADERS, then no CONTINUATION): nothing
// else may come on the connection, so it is closed with GOAWAY NO_ERROR; no inner session.
TEST_F(H2DeadlineTest, HeaderBlockThatNeverEndsClosesTheConnectionWithGoaway) {
  ASSERT_TRUE(settled());
  ASSERT_FALSE(eof_);
  nghttp2_hd_deflater* deflater = nullptr;
  ASSERT_EQ(nghttp2_hd_deflate_new(&deflater, 4096), 0);
  std::string n[] = {":method", ":scheme", ":authority", ":path"};
  std::string v[] = {"GET", "https", "h", "/"};
  std::vector<nghttp2_nv> nv;
  for (size_t i = 0; i < 4; ++i) {
    nv.push_back({reinterpret_cast<uint8_t*>(n[i].data()), reinterpret_cast<uint8_t*>(v[i].data()),
                  n[i].size(), v[i].size(), NGHTTP2_NV_FLAG_NONE});
  }
  uint8_t block[256];
  ssize_t len = nghttp2_hd_deflate_hd(deflater, block, sizeof block, nv.data(), nv.size());
  nghttp2_hd_deflate_del(deflater);
  ASSERT_GT(len, 0);
  ASSERT_LT(len, 256);
  // Frame header: length, type HEADERS (1), flags END_STREAM (1) without END_HEADERS, stream 1.
  const char head[9] = {0, 0, static_cast<char>(len), 1, 1, 0, 0, 0, 1};
  client_out_.append(head, sizeof head);
  client_out_.append(reinterpret_cast<const char*>(block), static_cast<size_t>(len));
  ASSERT_TRUE(pump([&] { return eof_; }, 100000));
  ASSERT_TRUE(goaway_.has_value());
  EXPECT_EQ(*goaway_, static_cast<uint32_t>(NGHTTP2_NO_ERROR));
  EXPECT_TRUE(inner_.empty());
}

// Gyre's HTTP/1.1 keep-alive idle wait (Centrifugo's Go server sets no idle timeout),
// shortened to 100 ms.
class H2IdleTest : public H2ConnectionTest {
 protected:
  H2Options options() override {
    H2Options o = H2ConnectionTest::options();
    o.idle_timeout = std::chrono::milliseconds(100);
    return o;
  }
};

// A connection with an open stream is not idle however long the stream lasts; once its last
// stream ends and no other comes, GOAWAY NO_ERROR and the end of the connection.
TEST_F(H2IdleTest, ConnectionWithoutStreamsGetsGoawayNoErrorAfterTheIdleTimeout) {
  int32_t id =
      request({{":method", "GET"}, {":scheme", "https"}, {":authority", "h"}, {":path", "/sse"}});
  inner_request(0);
  inner_write(0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n");
  ASSERT_TRUE(pump([&] { return responses_[id].body == "ab"; }));
  pump_for(std::chrono::milliseconds(300));  // three idle timeouts
  EXPECT_FALSE(goaway_.has_value());
  EXPECT_FALSE(eof_);
  inner_write(0, "0\r\n\r\n");
  ASSERT_TRUE(pump([&] { return responses_[id].closed; }));
  EXPECT_EQ(responses_[id].error, 0u);
  ASSERT_TRUE(pump([&] { return eof_; }, 100000));
  ASSERT_TRUE(goaway_.has_value());
  EXPECT_EQ(*goaway_, static_cast<uint32_t>(NGHTTP2_NO_ERROR));
}

}  // namespace
}  // namespace gyre::transport
