#include "transport/readiness.h"

#include <unistd.h>

#include <boost/asio/post.hpp>

#include <cassert>
#include <cerrno>
#include <system_error>
#include <utility>

namespace gyre::transport {

namespace asio = boost::asio;

asio::execution_context::id Readiness::id;

namespace {
int make_epoll() {
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) {
    throw std::system_error(errno, std::generic_category(), "epoll_create1");
  }
  return fd;
}
}  // namespace

Readiness::Readiness(asio::io_context& io)
    : asio::execution_context::service(io), io_(io), epfd_(make_epoll()), desc_(io, epfd_) {
  head_.prev = &head_;
  head_.next = &head_;
  calls_.reserve(kBatch);
}

Readiness::~Readiness() { shutdown(); }

Readiness& Readiness::of(asio::io_context& io) { return asio::use_service<Readiness>(io); }

bool Readiness::add(Entry& e, int fd) {
  assert(e.fd < 0 && e.prev == nullptr);
  if (shut_) {
    errno = ESHUTDOWN;
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = &e;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    return false;
  }
  e.fd = fd;
  e.ready = 0;
  e.wanted = 0;
  e.prev = head_.prev;
  e.next = &head_;
  head_.prev->next = &e;
  head_.prev = &e;
  if (!armed_) {
    arm();
  }
  return true;
}

std::shared_ptr<Readiness::Waiter> Readiness::remove(Entry& e) {
  if (e.prev != nullptr) {
    e.prev->next = e.next;
    e.next->prev = e.prev;
    e.prev = nullptr;
    e.next = nullptr;
  }
  if (e.fd >= 0) {
    // Closing the descriptor takes it out of the epoll set (Gyre never duplicates it) and
    // out of the kernel's ready list: no event for it is harvested after this.
    ::close(e.fd);
    e.fd = -1;
  }
  e.wanted = 0;
  e.ready = 0;
  return std::move(e.waiter);
}

bool Readiness::wait(Entry& e, Dir d, std::shared_ptr<Waiter>& w) {
  assert(e.fd >= 0 && (e.wanted & d) == 0 && "one wait per direction, registered");
  if (e.prev == nullptr) {
    w.reset();  // detached by shutdown: the loop has stopped
    return true;
  }
  if ((e.ready & d) != 0) {
    return false;
  }
  e.wanted |= d;
  if (!e.waiter) {
    e.waiter = std::move(w);
  } else {
    w.reset();  // the other direction's wait holds the same owner
  }
  return true;
}

size_t Readiness::size() const {
  size_t n = 0;
  for (const Entry* e = head_.next; e != &head_; e = e->next) {
    ++n;
  }
  return n;
}

void Readiness::arm() {
  if (shut_) {
    return;
  }
  armed_ = true;
  // The handler runs only while this service exists: io_context::shutdown destroys a pending
  // wait without calling it, and the descriptor is closed before the service goes.
  desc_.async_wait(asio::posix::descriptor_base::wait_read,
                   [this](const boost::system::error_code& ec) {
                     if (ec) {
                       return;  // operation_aborted: the set is going away
                     }
                     armed_ = false;
                     on_wake();
                   });
}

void Readiness::on_wake() {
  // The outer wait is edge-triggered too: everything ready now is harvested before the wait
  // is armed again (a full batch means there may be more). Entries becoming ready after the
  // last harvest signal the set's descriptor again.
  for (int round = 0; round < 4; ++round) {
    if (harvest() < kBatch) {
      arm();
      return;
    }
  }
  // Still more: let the loop run other handlers (and flush) first.
  asio::post(io_, [this] {
    if (!shut_ && !armed_) {
      on_wake();
    }
  });
}

int Readiness::harvest() {
  int n;
  do {
    n = ::epoll_wait(epfd_, events_.data(), kBatch, 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    return 0;
  }
  // First every event (no owner runs yet, so every entry is alive), then the calls.
  calls_.clear();
  for (int i = 0; i < n; ++i) {
    auto* e = static_cast<Entry*>(events_[i].data.ptr);
    uint32_t m = events_[i].events;
    uint8_t r = 0;
    if ((m & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
      r |= kRead;
    }
    if ((m & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0) {
      r |= kWrite;
    }
    e->ready |= r;
    uint8_t fire = e->wanted & e->ready;
    if (fire == 0) {
      continue;
    }
    e->wanted &= static_cast<uint8_t>(~fire);
    if (e->wanted != 0) {
      calls_.push_back({e->waiter, e, fire});  // the other direction still waits
    } else {
      calls_.push_back({std::move(e->waiter), e, fire});
    }
  }
  // A call may close other entries of the batch (a disconnect of another connection) or
  // drop their owners: the references taken above keep each entry alive, and a closed one
  // is skipped.
  std::vector<Call> calls;
  calls.swap(calls_);
  for (auto& c : calls) {
    if ((c.dirs & kWrite) != 0 && c.entry->fd >= 0) {
      c.waiter->on_ready(kWrite);
    }
    if ((c.dirs & kRead) != 0 && c.entry->fd >= 0) {
      c.waiter->on_ready(kRead);
    }
  }
  calls.clear();  // may destroy owners
  if (calls_.empty()) {
    calls_.swap(calls);  // keep the capacity
  }
  return n;
}

void Readiness::shutdown() {
  if (shut_) {
    return;
  }
  shut_ = true;
  // Drop every pending wait without calling it (the loop has stopped). Entries are detached
  // first: releasing a waiter may destroy its session, whose ByteStream then closes its
  // descriptor without touching the list.
  std::vector<std::shared_ptr<Waiter>> drop;
  for (Entry* e = head_.next; e != &head_;) {
    Entry* next = e->next;
    e->prev = nullptr;
    e->next = nullptr;
    e->wanted = 0;
    if (e->waiter) {
      drop.push_back(std::move(e->waiter));
    }
    e = next;
  }
  head_.prev = &head_;
  head_.next = &head_;
  drop.clear();
  boost::system::error_code ec;
  desc_.close(ec);
}

}  // namespace gyre::transport
