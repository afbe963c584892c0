// page_faults: the calling thread's page faults so far (minor: a page
// mapped on first touch; major: one read from disk), for tests that check a
// hot path touches only memory mapped before it ran.
#pragma once

#include <sys/resource.h>

#include <cstdint>

namespace tickwire::testing {

// kFaultsCountable: false under a sanitizer, whose shadow memory is mapped
// on first touch too, so a thread's page faults say nothing of the code's.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
inline constexpr bool kFaultsCountable = false;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
inline constexpr bool kFaultsCountable = false;
#else
inline constexpr bool kFaultsCountable = true;
#endif
#else
inline constexpr bool kFaultsCountable = true;
#endif

inline std::uint64_t thread_page_faults() {
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  return static_cast<std::uint64_t>(usage.ru_minflt) + static_cast<std::uint64_t>(usage.ru_majflt);
}

}  // namespace tickwire::testing
