#pragma once

#include <string>

// nginx+Nchan configuration for the peer measurement: one worker, WebSocket subscribers on
// /sub/<channel>, HTTP publishers on /pub/<channel>, everything under a private prefix so nginx
// runs unprivileged: nginx -p DIR -c DIR/nginx.conf -g 'daemon off;'. Stateless.
namespace gyre::bench {

std::string nchan_config(int port, const std::string& prefix_dir);

// Writes prefix_dir/nginx.conf (creating prefix_dir and its logs/ and temp/ folders). Returns an
// error message, empty on success.
std::string write_nchan_config(int port, const std::string& prefix_dir);

}  // namespace gyre::bench
