#include "tickwire/connector/stream_tracker.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>

namespace tickwire::connector {

std::size_t StreamTracker::add_stream(StreamKind kind) {
  Stream s;
  s.kind = kind;
  if (kind == StreamKind::kIncreasing) s.recent.assign(kRecentIds, 0);
  streams_.push_back(std::move(s));
  return streams_.size() - 1;
}

IdVerdict StreamTracker::accept_increasing(Stream& s, std::uint64_t id, bool from_new) {
  // During a rollover the old connection reaching the highest id held back
  // from the newer one means it delivered everything before it: overlapped.
  if (!from_new && s.held_max != 0 && id >= s.held_max) s.overlapped = true;
  std::uint64_t oldest = UINT64_MAX;
  for (const std::uint64_t r : s.recent) {
    if (r == id) {
      if (from_new) s.overlapped = true;  // the newer connection repeats what was accepted
      return {IdVerdict::kDuplicate};
    }
    if (r != 0) oldest = std::min(oldest, r);
  }
  // Ids skip, so a new id from the newer connection ahead of the stream says
  // nothing of what the old one still has in flight before it: held back,
  // as on a contiguous stream (the old connection delivers it).
  if (from_new && !s.overlapped && id > s.last) {
    s.held_max = std::max(s.held_max, id);
    return {IdVerdict::kHeld};
  }
  // Below the last, never accepted and inside what the ring remembers: a
  // trade that arrived late (an older one cannot be told from a repeat).
  if (id < s.last && id < oldest) return {IdVerdict::kDuplicate};
  s.recent[s.recent_next] = id;
  s.recent_next = (s.recent_next + 1) % s.recent.size();
  if (id > s.last) s.last = id;
  return {};
}

bool StreamTracker::remember_tag(Stream& s, std::uint64_t tag) {
  if (s.tags.empty()) {
    s.tags.assign(kTagSlots, 0);
    s.tag_slots.reserve(kMaxTags);
  }
  // The tag is a hash already: its low bits pick the slot; linear probing.
  std::size_t slot = static_cast<std::size_t>(tag) & (kTagSlots - 1);
  while (s.tags[slot] != 0) {
    if (s.tags[slot] == tag) return false;
    slot = (slot + 1) & (kTagSlots - 1);
  }
  if (s.tag_slots.size() == kMaxTags) return true;  // full: new, but not remembered
  s.tags[slot] = tag;
  s.tag_slots.push_back(static_cast<std::uint16_t>(slot));
  return true;
}

void StreamTracker::forget_tags(Stream& s) {
  for (const std::uint16_t slot : s.tag_slots) s.tags[slot] = 0;
  s.tag_slots.clear();
}

IdVerdict StreamTracker::accept_non_decreasing(Stream& s, std::uint64_t id, std::uint64_t tag, bool from_new) {
  if (s.last != 0 && id < s.last) {
    if (from_new) s.overlapped = true;  // the newer connection repeats what was accepted
    return {IdVerdict::kDuplicate};
  }
  if (s.last != 0 && id == s.last) {
    // Another message at the last id: new unless its tag was accepted there.
    // From the newer connection either way it is not ahead: overlapped.
    if (from_new) s.overlapped = true;
    if (tag != 0 && !remember_tag(s, tag)) return {IdVerdict::kDuplicate};
    return {};
  }
  if (s.last != 0 && from_new && !s.overlapped) {  // ahead: the old connection will deliver it
    s.held_max = std::max(s.held_max, id);
    return {IdVerdict::kHeld};
  }
  s.last = id;
  forget_tags(s);
  if (tag != 0) (void)remember_tag(s, tag);
  if (from_new || (s.held_max != 0 && s.last >= s.held_max)) s.overlapped = true;
  return {};
}

IdVerdict StreamTracker::check(std::size_t stream, std::uint64_t first, std::uint64_t last, std::uint32_t generation,
                               std::uint64_t tag) {
  Stream& s = streams_[stream];
  const bool from_new = is_new(generation);
  if (s.kind == StreamKind::kIncreasing) return accept_increasing(s, last, from_new);
  if (s.kind == StreamKind::kNonDecreasing) return accept_non_decreasing(s, last, tag, from_new);
  if (s.last == 0) {  // the stream's first message: nothing to compare with
    s.last = last;
    if (from_new) s.overlapped = true;
    return {};
  }
  if (last <= s.last) {
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
  if (rolling_to(generation)) return;  // already begun: keep what was held back
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
  std::fill(s.recent.begin(), s.recent.end(), 0);
  s.recent_next = 0;
  forget_tags(s);
}

}  // namespace tickwire::connector
