#include "tickwire/connector/stream_tracker.hpp"

namespace tickwire::connector {

std::size_t StreamTracker::add_stream(StreamKind kind) {
  streams_.push_back(Stream{kind});
  return streams_.size() - 1;
}

IdVerdict StreamTracker::check(std::size_t stream, std::uint64_t first, std::uint64_t last,
                               std::uint32_t generation) {
  Stream& s = streams_[stream];
  const bool from_new = is_new(generation);
  if (s.last == 0) {  // the stream's first message: nothing to compare with
    s.last = last;
    if (from_new) s.overlapped = true;
    return {};
  }
  if (last < s.last || (last == s.last && s.kind != StreamKind::kNonDecreasing)) {
    // The newer connection repeating what was accepted proves it covers the
    // stream from here on (it delivers in order, so it held nothing beyond).
    if (from_new) s.overlapped = true;
    return {IdVerdict::kDuplicate};
  }
  if (s.kind != StreamKind::kContiguous) {
    s.last = last;
    if (from_new) s.overlapped = true;
    return {};
  }
  if (first <= s.last + 1) {  // the next one (a range may straddle it)
    s.last = last;
    // From the newer connection: it is at the front, nothing of it is held.
    // From the old one: overlapped once it has delivered all the newer one held back.
    if (from_new || (s.held_max != 0 && s.last >= s.held_max)) s.overlapped = true;
    return {};
  }
  if (from_new && !s.overlapped) {  // the old connection will deliver it
    s.held_max = last;
    return {IdVerdict::kHeld};
  }
  const IdVerdict gap{IdVerdict::kGap, s.last + 1, first - 1};
  s.last = last;
  if (from_new || (s.held_max != 0 && s.last >= s.held_max)) s.overlapped = true;
  return gap;
}

void StreamTracker::begin_rollover(std::uint32_t generation) {
  rolling_ = true;
  new_generation_ = generation;
  for (Stream& s : streams_) {
    s.held_max = 0;
    s.overlapped = s.last == 0;  // a stream without data so far has nothing to overlap
  }
}

bool StreamTracker::overlapped() const { return not_overlapped() == 0; }

std::size_t StreamTracker::not_overlapped() const {
  if (!rolling_) return 0;
  std::size_t n = 0;
  for (const Stream& s : streams_) n += s.overlapped ? 0 : 1;
  return n;
}

void StreamTracker::end_rollover() {
  rolling_ = false;
  for (Stream& s : streams_) {
    s.held_max = 0;
    s.overlapped = true;
  }
}

void StreamTracker::reset(std::size_t stream) {
  Stream& s = streams_[stream];
  s.last = 0;
  s.held_max = 0;
  s.overlapped = true;
}

}  // namespace tickwire::connector
