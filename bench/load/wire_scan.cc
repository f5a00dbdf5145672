#include "load/wire_scan.h"

#include <charconv>
#include <cstring>

namespace gyre::bench {
namespace {

const char* find(std::string_view hay, std::string_view needle) {
  return static_cast<const char*>(memmem(hay.data(), hay.size(), needle.data(), needle.size()));
}

int64_t read_int(const char*& p, const char* end, bool& ok) {
  int64_t v = 0;
  auto r = std::from_chars(p, end, v);
  ok = r.ec == std::errc();
  p = r.ptr;
  return v;
}

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) {
    return false;
  }
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (c != prefix[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

Stamp find_stamp(std::string_view bytes) {
  Stamp st;
  const char* end = bytes.data() + bytes.size();
  const char* p = find(bytes, "\"t\":");
  if (!p) {
    return st;
  }
  p += 4;
  bool ok = false;
  st.t = read_int(p, end, ok);
  if (!ok) {
    return st;
  }
  const char* s = find(std::string_view(p, end - p), "\"s\":");
  if (!s) {
    return st;
  }
  s += 4;
  st.s = read_int(s, end, ok);
  st.ok = ok;
  return st;
}

void append_int(std::string& out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_payload(std::string& out, int64_t t, int64_t s, std::string_view padding) {
  out += "{\"t\":";
  append_int(out, t);
  out += ",\"s\":";
  append_int(out, s);
  out += ",\"p\":\"";
  out += padding;
  out += "\"}";
}

NatsItem parse_nats(std::string_view data) {
  NatsItem it;
  const char* nl = find(data, "\r\n");
  if (!nl) {
    if (data.size() > 64 * 1024) {
      it.status = NatsItem::kError;
    }
    return it;
  }
  std::string_view line(data.data(), nl - data.data());
  size_t after = line.size() + 2;
  if (line.size() >= 4 && line.compare(0, 4, "MSG ") == 0) {
    // The byte count is the last space-separated token.
    size_t sp = line.rfind(' ');
    const char* p = line.data() + sp + 1;
    bool ok = false;
    int64_t len = read_int(p, line.data() + line.size(), ok);
    if (!ok || len < 0) {
      it.status = NatsItem::kError;
      return it;
    }
    if (data.size() < after + static_cast<size_t>(len) + 2) {
      return it;
    }
    it.kind = NatsKind::kMsg;
    it.payload = data.substr(after, static_cast<size_t>(len));
    it.consumed = after + static_cast<size_t>(len) + 2;
    it.status = NatsItem::kItem;
    return it;
  }
  it.status = NatsItem::kItem;
  it.consumed = after;
  if (line == "PING") {
    it.kind = NatsKind::kPing;
  } else if (line == "PONG") {
    it.kind = NatsKind::kPong;
  } else if (line.starts_with("INFO")) {
    it.kind = NatsKind::kInfo;
  } else if (line.starts_with("+OK")) {
    it.kind = NatsKind::kOk;
  } else if (line.starts_with("-ERR")) {
    it.kind = NatsKind::kErr;
    it.payload = line;
  }
  return it;
}

HttpResponse parse_http_response(std::string_view data) {
  HttpResponse r;
  const char* hend = find(data, "\r\n\r\n");
  if (!hend) {
    if (data.size() > 64 * 1024) {
      r.status = HttpResponse::kError;
    }
    return r;
  }
  if (data.size() < 12 || !data.starts_with("HTTP/1.")) {
    r.status = HttpResponse::kError;
    return r;
  }
  const char* p = data.data() + 9;
  bool ok = false;
  r.code = static_cast<int>(read_int(p, hend, ok));
  size_t header_len = hend - data.data() + 4;
  std::string_view headers = data.substr(0, header_len);
  int64_t content_length = -1;
  bool chunked = false;
  size_t pos = headers.find("\r\n") + 2;
  while (pos < headers.size()) {
    size_t e = headers.find("\r\n", pos);
    if (e == std::string_view::npos || e == pos) {
      break;
    }
    std::string_view h = headers.substr(pos, e - pos);
    if (iequals_prefix(h, "content-length:")) {
      const char* v = h.data() + 15;
      while (*v == ' ') {
        ++v;
      }
      content_length = read_int(v, h.data() + h.size(), ok);
    } else if (iequals_prefix(h, "transfer-encoding:") && find(h, "chunked")) {
      chunked = true;
    } else if (iequals_prefix(h, "connection:") && find(h, "close")) {
      r.close = true;
    }
    pos = e + 2;
  }
  if (chunked) {
    size_t at = header_len;
    bool first = true;
    while (true) {
      size_t e = data.find("\r\n", at);
      if (e == std::string_view::npos) {
        return r;
      }
      uint64_t len = 0;
      auto fc = std::from_chars(data.data() + at, data.data() + e, len, 16);
      if (fc.ec != std::errc()) {
        r.status = HttpResponse::kError;
        return r;
      }
      if (data.size() < e + 2 + len + 2) {
        return r;
      }
      if (first) {
        r.body = data.substr(e + 2, len);
        first = false;
      }
      at = e + 2 + len + 2;
      if (len == 0) {
        break;
      }
    }
    r.consumed = at;
    r.status = HttpResponse::kComplete;
    return r;
  }
  size_t body = content_length > 0 ? static_cast<size_t>(content_length) : 0;
  if (data.size() < header_len + body) {
    return r;
  }
  r.body = data.substr(header_len, body);
  r.consumed = header_len + body;
  r.status = HttpResponse::kComplete;
  return r;
}

size_t count_occurrences(std::string_view hay, std::string_view needle) {
  size_t n = 0;
  size_t pos = 0;
  while ((pos = hay.find(needle, pos)) != std::string_view::npos) {
    ++n;
    pos += needle.size();
  }
  return n;
}

}  // namespace gyre::bench
