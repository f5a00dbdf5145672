#pragma once

#include <sys/epoll.h>

#include <boost/asio/execution_context.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

// Gyre's own readiness registration for long-lived connections (WebSocket sessions after the
// HTTP upgrade take their descriptor out of Asio, ByteStream::attach).
//
// Why: Asio keeps, per socket, a reactor record (`epoll_reactor::descriptor_state`, 176-byte
// heap block) and, per pending wait, an operation (112 bytes): 288 of the ~1.2 KB an idle
// WebSocket connection held (docs/performance.md, "Idle connections"). Here a connection
// costs one Entry inside its ByteStream (40 bytes) and the kernel's epoll item.
//
// How: one epoll set per io_context (an Asio service, so one per shard), itself registered
// with the io_context as a single descriptor: its readability wakes the loop, and the wake-up
// handler harvests the set with epoll_wait(…, 0) and calls the waiting owners. The loop never
// blocks in this set (server/main.cc run_shard blocks in Asio's own epoll only, so write
// holds and timers still bound the wait).
//
// Edge-triggered (EPOLLET), each descriptor added once for input and output: a wait costs no
// system call (level-triggered would need an epoll_ctl per wait to silence a connection that
// is readable but not reading, e.g. while its commands wait for another shard). An Entry
// therefore remembers the directions that signalled since the last read or write that ran
// dry (`ready`): ByteStream clears a bit when a read or write would block or came back short
// (the socket buffer was emptied or filled: the next change in it is a new edge). A wait for
// a direction whose bit is set completes at once (posted, never inside the call).
//
// Lifetime: a pending wait holds its Waiter (the session that owns the ByteStream, and so the
// Entry) alive, as an Asio handler holds its session. Closing the descriptor drops the wait
// (posted: the caller may be the waiter itself). A harvested batch first records every event
// and takes a reference to each owner it will call, then calls them: an owner freed or a
// descriptor closed by an earlier call in the same batch is never called (the closed Entry is
// skipped; the references keep every Entry of the batch alive until the batch ends).
// io_context::shutdown() (ShardSet::discard_pending) drops every pending wait without calling
// it, as Asio destroys pending handlers.
//
// Shard-local: a Readiness and its entries are used only by the thread running its
// io_context.
namespace gyre::transport {

class Readiness : public boost::asio::execution_context::service {
 public:
  enum Dir : uint8_t { kRead = 1, kWrite = 2 };

  // The owner of a registered descriptor (its session). on_ready is called on the shard when
  // a direction it waited for became ready; then read or write until would_block.
  class Waiter {
   public:
    virtual void on_ready(Dir d) = 0;

   protected:
    ~Waiter() = default;
  };

  // One registered descriptor, embedded in its ByteStream (which the Waiter owns). Not
  // movable while registered (the epoll item points at it). 40 bytes: it names no set (the
  // list links are enough to leave it; shutdown detaches every entry, prev == nullptr with
  // fd >= 0), so the callers post with their own executor.
  struct Entry {
    Entry* prev = nullptr;  // intrusive list of registered entries (shutdown drops the waits)
    Entry* next = nullptr;
    std::shared_ptr<Waiter> waiter;  // set while a wait is pending
    int fd = -1;                     // registered and open when >= 0
    uint8_t ready = 0;               // Dir bits signalled since the last dry read/write
    uint8_t wanted = 0;              // Dir bits waited for
  };

  static boost::asio::execution_context::id id;

  explicit Readiness(boost::asio::io_context& io);
  ~Readiness() override;
  Readiness(const Readiness&) = delete;
  Readiness& operator=(const Readiness&) = delete;

  // The io_context's set (created on first use; Asio's service registry takes its mutex:
  // once per registration, never per wait).
  static Readiness& of(boost::asio::io_context& io);

  // Adds `fd` (non-blocking, owned by the caller until remove()) with `e` as its entry.
  // False (errno) when epoll refuses it.
  [[nodiscard]] bool add(Entry& e, int fd);
  // Takes `e` out of its set and closes its descriptor. Returns the pending wait's owner, if
  // any, for the caller to release after the current handler (the caller may be that owner).
  // Idempotent; also after the set's shutdown.
  [[nodiscard]] static std::shared_ptr<Waiter> remove(Entry& e);
  // Waits for `d` on `e` (registered): w->on_ready(d) later on this shard, and true. False
  // when the caller must call w->on_ready(d) itself, posted: `d` signalled since the last dry
  // read/write. Dropped (true, never called) after the set's shutdown, as Asio drops a wait.
  // One wait per direction at a time.
  [[nodiscard]] static bool wait(Entry& e, Dir d, std::shared_ptr<Waiter>& w);

  // Registered descriptors (tests; walks the list).
  size_t size() const;

 private:
  struct Call {
    std::shared_ptr<Waiter> waiter;
    Entry* entry;
    uint8_t dirs;
  };
  static constexpr int kBatch = 256;

  void shutdown() override;
  void arm();
  void on_wake();
  // One epoll_wait(…, 0) and its calls; the number of events harvested.
  int harvest();

  boost::asio::io_context& io_;
  int epfd_ = -1;
  boost::asio::posix::stream_descriptor desc_;  // epfd_ registered with the io_context
  bool armed_ = false;
  bool shut_ = false;
  Entry head_;  // list sentinel
  std::array<epoll_event, kBatch> events_{};
  std::vector<Call> calls_;
};

}  // namespace gyre::transport
