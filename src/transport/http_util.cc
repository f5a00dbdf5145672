#include "transport/http_util.h"

#include <boost/url/decode_view.hpp>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/pct_string_view.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace gyre::transport::http {

std::vector<std::string_view> header_fields(std::string_view value) {
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  };
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < value.size()) {
    while (i < value.size() && space(value[i])) {
      ++i;
    }
    size_t j = i;
    while (j < value.size() && !space(value[j])) {
      ++j;
    }
    if (j > i) {
      out.push_back(value.substr(i, j - i));
    }
    i = j;
  }
  return out;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Request Entity Too Large";
    case 416: return "Requested Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 499: return "Client Closed Request";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}

std::string cors_headers(std::string_view origin, std::string_view request_headers) {
  std::string out;
  if (origin.empty()) {
    return out;
  }
  out.append("Access-Control-Allow-Origin: ").append(origin).append("\r\n");
  if (!request_headers.empty() && request_headers != "null") {
    out.append("Access-Control-Allow-Headers: ").append(request_headers).append("\r\n");
  }
  out.append("Access-Control-Allow-Credentials: true\r\n");
  return out;
}

std::string stream_response_head(std::string_view content_type, std::string_view extra) {
  std::string out =
      "HTTP/1.1 200 OK\r\n"
      "Cache-Control: private, no-cache, no-store, must-revalidate, max-age=0\r\n"
      "Connection: keep-alive\r\n";
  if (!content_type.empty()) {
    out.append("Content-Type: ").append(content_type).append("\r\n");
  }
  // Header names in sorted order, as Go's net/http writes them.
  out.append("Date: ").append(http_date()).append("\r\n");
  out.append(
      "Expire: 0\r\n"
      "Pragma: no-cache\r\n"
      "X-Accel-Buffering: no\r\n");
  out.append(extra);
  out.append("Transfer-Encoding: chunked\r\n\r\n");
  return out;
}

std::string simple_response(int status, std::string_view content_type, std::string_view body,
                            std::string_view extra, bool keep_alive) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " ";
  out.append(reason_phrase(status)).append("\r\n");
  if (!content_type.empty()) {
    out.append("Content-Type: ").append(content_type).append("\r\n");
  }
  out.append("Date: ").append(http_date()).append("\r\n");
  out.append(extra);
  if (status != 204) {
    out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  if (!keep_alive) {
    out.append("Connection: close\r\n");
  }
  out.append("\r\n");
  out.append(body);
  return out;
}

void append_chunk(std::string& out, std::string_view body) {
  if (body.empty()) {
    return;
  }
  char hex[20];
  int n = std::snprintf(hex, sizeof hex, "%zx\r\n", body.size());
  out.append(hex, static_cast<size_t>(n));
  out.append(body);
  out.append("\r\n");
}

std::optional<HttpResponse> connect_code_to_http_response(const config::CodeTransforms& t,
                                                          uint32_t code,
                                                          std::string_view message) {
  if (!t.enabled) {
    return std::nullopt;
  }
  for (const auto& tr : t.transforms) {
    if (tr.code == code) {
      return HttpResponse{tr.to_status_code,
                          tr.to_body.empty() ? std::string(message) : tr.to_body};
    }
  }
  return HttpResponse{500, "Internal Server Error"};
}

std::optional<std::string> query_unescape(std::string_view s) {
  // Boost.URL validates the escapes (every `%` followed by two hex digits) and decodes with
  // `+` as a space, as Go's QueryUnescape does for query components.
  auto pct = boost::urls::make_pct_string_view(boost::core::string_view(s.data(), s.size()));
  if (!pct) {
    return std::nullopt;
  }
  boost::urls::encoding_opts opts;
  opts.space_as_plus = true;
  std::string out;
  out.reserve(pct->decoded_size());
  for (char c : boost::urls::decode_view(*pct, opts)) {
    out += c;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty() || pair.find(';') != std::string_view::npos) {
      continue;
    }
    size_t eq = pair.find('=');
    auto key = query_unescape(pair.substr(0, eq));
    auto value =
        query_unescape(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (key && value) {
      out.emplace_back(std::move(*key), std::move(*value));
    }
  }
  return out;
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  for (auto& [key, value] : parse_query(query)) {
    if (key == name) {
      return std::move(value);
    }
  }
  return std::nullopt;
}

std::string format_http_date(int64_t unix_seconds) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                        tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                        tm.tm_sec);
  return std::string(buf, static_cast<size_t>(n));
}

std::string_view http_date() {
  // Per-thread scratch: the text of the current second (not shard state: any thread may ask).
  struct Cache {
    int64_t second = -1;
    std::string text;
  };
  thread_local Cache cache;
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  if (now != cache.second) {
    cache.text = format_http_date(now);
    cache.second = now;
  }
  return cache.text;
}

}  // namespace gyre::transport::http
