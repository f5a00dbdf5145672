#include "transport/http_util.h"

#include <cstdio>

namespace gyre::transport::http {

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
  out.append(extra);
  out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
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

std::string percent_decode(std::string_view v) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '+') {
      out += ' ';
    } else if (v[i] == '%') {
      int hi = i + 1 < v.size() ? hex(v[i + 1]) : -1;
      int lo = i + 2 < v.size() ? hex(v[i + 2]) : -1;
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
      } else {
        out += '%';
      }
    } else {
      out += v[i];
    }
  }
  return out;
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    std::string_view kv =
        query.substr(pos, (amp == std::string_view::npos ? query.size() : amp) - pos);
    size_t eq = kv.find('=');
    if (percent_decode(kv.substr(0, eq)) == name) {
      return percent_decode(eq == std::string_view::npos ? "" : kv.substr(eq + 1));
    }
    if (amp == std::string_view::npos) {
      break;
    }
    pos = amp + 1;
  }
  return std::nullopt;
}

}  // namespace gyre::transport::http
