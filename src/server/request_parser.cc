#include "server/request_parser.h"

#include <algorithm>

#include "core/ascii.h"

namespace gyre::server {

namespace http = boost::beast::http;

namespace {

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
    v.remove_prefix(1);
  }
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) {
    v.remove_suffix(1);
  }
  return v;
}

}  // namespace

std::string_view IncomingRequest::operator[](http::field name) const {
  for (const auto& f : fields_) {
    if (f.name == name) {
      return f.value;
    }
  }
  return {};
}

std::string_view IncomingRequest::operator[](std::string_view name) const {
  for (const auto& f : fields_) {
    if (ascii_iequals(f.name_string, name)) {
      return f.value;
    }
  }
  return {};
}

std::vector<std::string_view> IncomingRequest::values(http::field name) const {
  std::vector<std::string_view> out;
  for (const auto& f : fields_) {
    if (f.name == name) {
      out.emplace_back(f.value);
    }
  }
  return out;
}

void RequestParser::on_request_impl(http::verb method, boost::beast::string_view method_str,
                                    boost::beast::string_view target, int version,
                                    error_code&) {
  req_.method_ = method;
  req_.method_string_.assign(method_str.data(), method_str.size());
  req_.target_.assign(target.data(), target.size());
  req_.version_ = static_cast<unsigned>(version);
}

void RequestParser::on_field_impl(http::field name, boost::beast::string_view name_string,
                                  boost::beast::string_view value, error_code&) {
  std::string_view v = trim(std::string_view(value.data(), value.size()));
  req_.fields_.push_back(
      {name, std::string(name_string.data(), name_string.size()), std::string(v)});
}

void RequestParser::on_header_impl(error_code&) { req_.keep_alive_ = keep_alive(); }

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                      error_code&) {
  // basic_parser has checked content_length against body_limit() before this call.
  if (content_length) {
    req_.body_.reserve(static_cast<size_t>(*content_length));
  }
}

std::size_t RequestParser::on_body_impl(boost::beast::string_view body, error_code&) {
  req_.body_.append(body.data(), body.size());
  return body.size();
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                                              error_code&) {
  req_.body_.append(body.data(), body.size());
  return body.size();
}

}  // namespace gyre::server
