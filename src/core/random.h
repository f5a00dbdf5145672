#pragma once

#include <cstdint>
#include <span>
#include <string>

// Randomness. Every identifier and secret — client ids, session ids (the only credential of
// `/emulation`), node ids, stream epochs, generated secrets and API keys — comes from the
// operating system's CSPRNG through OpenSSL's RAND_bytes, as Centrifugo's come from Go's
// crypto/rand. Each thread keeps a small buffer of CSPRNG output so that an id costs a
// memcpy, not a system call; the buffer is never shared between threads and is drawn
// from once (each byte is handed out once).
//
// Timer jitter (ping spread) does not need secrecy: it uses `Jitter`, a fast generator
// with its own state, seeded from the CSPRNG and never used for an id.
//
// Thread-safe: all functions may be called from any thread. They never block after the
// first call on a thread (the kernel's CSPRNG is seeded at boot).
namespace gyre::random {

// Fills `out` with CSPRNG bytes. Aborts the process if the CSPRNG fails (OpenSSL only fails
// when the OS cannot supply entropy; handing out predictable ids would be worse).
void fill(std::span<uint8_t> out);

// A random (version 4, RFC 4122 variant) UUID: 122 CSPRNG bits, lower-case hex.
std::string uuid_v4();
// `n` random ASCII letters (stream epochs), from the CSPRNG.
std::string letters(size_t n);
// 64 CSPRNG bits.
uint64_t secure_u64();

// Fast non-cryptographic generator (xoshiro256**) for jitter only. Seeded from the CSPRNG
// at construction; its state is its own. Not thread-safe: one instance per shard or thread.
class Jitter {
 public:
  Jitter();
  uint64_t next();
  // Uniform in [lo, hi); lo when hi <= lo.
  int64_t uniform(int64_t lo, int64_t hi);

 private:
  uint64_t s_[4];
};

// The calling thread's jitter generator (its own state, seeded from the CSPRNG on first
// use). For ping spread and backoff only — never for an id or a secret.
Jitter& thread_jitter();

}  // namespace gyre::random
