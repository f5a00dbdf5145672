#pragma once

// `gyre-load --self-test`: checks the hand-written codecs and scanners against the spec vectors
// (client-protocol.md §10.2, RFC 6455, RFC 7515 appendix samples). Returns the process exit code.
namespace gyre::bench {

int run_self_test();

}  // namespace gyre::bench
