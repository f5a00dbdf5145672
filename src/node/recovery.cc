#include "node/recovery.h"

#include "protocol/fossil.h"

namespace gyre::node::recovery {

engine::HistoryFilter history_filter(const Request& r, int64_t max_publications) {
  engine::HistoryFilter f;  // limit 0: just the stream top
  if (r.recoverable && r.recover) {
    if (r.cache_mode) {
      f.limit = 1;
      f.reverse = true;
    } else {
      f.since = protocol::StreamPosition{r.offset, r.epoch};
      f.limit = max_publications > 0 ? static_cast<int32_t>(max_publications) : -1;
    }
  }
  return f;
}

Decision decide(const engine::HistoryResult& hr, const Request& r) {
  Decision d;
  const auto& top = hr.top;
  d.offset = top.offset;
  if (!r.positioned || !r.recoverable || !r.recover) {
    return d;
  }
  const auto& pubs = hr.publications;
  if (r.cache_mode) {
    // Cache mode: only the latest publication matters (client-protocol.md §5.3 C).
    bool same = r.offset > 0 && r.offset == top.offset && r.epoch == top.epoch;
    if (pubs.empty()) {
      d.recovered = same;
    } else {
      d.recovered = pubs.front()->offset == top.offset;
      if (d.recovered && !same) {
        d.publications = {pubs.front()};
      }
    }
  } else if (!hr.epoch_mismatch) {
    d.recovered = (pubs.empty() && top.offset == r.offset) ||
                  (!pubs.empty() && pubs.front()->offset == r.offset + 1 &&
                   pubs.back()->offset == top.offset);
    if (d.recovered) {
      d.publications = pubs;
    }
  }
  if (d.recovered) {
    d.offset = r.offset;
  } else {
    d.unrecoverable = r.reject_unrecovered;
  }
  return d;
}

std::vector<std::shared_ptr<const protocol::Publication>> delta_chain(
    const std::vector<std::shared_ptr<const protocol::Publication>>& pubs, bool utf8_safe) {
  std::vector<std::shared_ptr<const protocol::Publication>> out;
  out.reserve(pubs.size());
  for (size_t i = 0; i < pubs.size(); ++i) {
    if (i == 0) {
      out.push_back(pubs[i]);
      continue;
    }
    const auto& prev = pubs[i - 1]->data;
    const auto& cur = pubs[i]->data;
    std::string patch = utf8_safe ? protocol::fossil::create_utf8_safe(prev, cur)
                                  : protocol::fossil::create(prev, cur);
    if (patch.size() >= cur.size()) {
      out.push_back(pubs[i]);
      continue;
    }
    auto copy = std::make_shared<protocol::Publication>(*pubs[i]);
    copy->data = std::move(patch);
    copy->delta = true;
    out.push_back(std::move(copy));
  }
  return out;
}

}  // namespace gyre::node::recovery
