#pragma once

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include <string>
#include <string_view>
#include <vector>

// An HTTP/1.x request parser on Beast's basic_parser that stores header fields of any size.
// Beast's own basic_fields caps one field at 64 KiB and throws std::length_error beyond (out of
// the read handler, which would end the process), while Go's net/http — and so Centrifugo —
// accepts up to 1 MB of request headers in total (cookies and JWTs in headers can be large).
// The total is bounded by header_limit(); no single field has a bound of its own.
// Shard-local: one per HTTP connection.
namespace gyre::server {

// A parsed request: the parts HttpSession reads. Field lookups are case-insensitive.
class IncomingRequest {
 public:
  struct Field {
    boost::beast::http::field name;  // field::unknown for names Beast does not know
    std::string name_string;
    std::string value;  // leading and trailing spaces and tabs trimmed, as Go's textproto
  };

  boost::beast::http::verb method() const { return method_; }
  std::string_view method_string() const { return method_string_; }
  std::string_view target() const { return target_; }
  unsigned version() const { return version_; }
  bool keep_alive() const { return keep_alive_; }
  std::string& body() { return body_; }

  // The first value of the field, or "".
  std::string_view operator[](boost::beast::http::field name) const;
  std::string_view operator[](std::string_view name) const;
  // Every value of the field, in the order received.
  std::vector<std::string_view> values(boost::beast::http::field name) const;
  const std::vector<Field>& fields() const { return fields_; }

 private:
  friend class RequestParser;
  boost::beast::http::verb method_ = boost::beast::http::verb::unknown;
  std::string method_string_;
  std::string target_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  std::vector<Field> fields_;
  std::string body_;
};

class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  RequestParser() = default;
  IncomingRequest& get() { return req_; }

 private:
  using error_code = boost::system::error_code;
  void on_request_impl(boost::beast::http::verb method, boost::beast::string_view method_str,
                       boost::beast::string_view target, int version, error_code& ec) override;
  void on_response_impl(int, boost::beast::string_view, int, error_code&) override {}
  void on_field_impl(boost::beast::http::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, error_code& ec) override;
  void on_header_impl(error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         error_code& ec) override;
  std::size_t on_body_impl(boost::beast::string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t remain, boost::beast::string_view body,
                                 error_code& ec) override;
  void on_finish_impl(error_code&) override {}

  IncomingRequest req_;
};

}  // namespace gyre::server
