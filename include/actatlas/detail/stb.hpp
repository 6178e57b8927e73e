/// @file detail/stb.hpp
/// stb_image and stb_image_write, compiled into every translation unit that includes
/// this header with static linkage. That is how a header-only library can use the stb
/// single-file libraries without asking the user to pick one .cpp for the definitions;
/// the price is a copy of the (small) decoder per translation unit.
///
/// Every allocation stb_image makes goes through `stb_allocation_budget`: the loaders
/// (io/image_folder.hpp, io/png.hpp) set a per-thread ceiling from the size the file's
/// header declares, so a stream that inflates far past that size (a PNG bomb: a 16×16
/// header over megabytes of zeros) makes stb fail with "outofmem" instead of growing its
/// buffer to gigabytes. Outside those loaders there is no ceiling.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>

namespace actatlas::detail {
//! The largest single allocation stb_image may make on this thread, and whether one was refused.
struct stb_budget_state {
  std::size_t ceiling = std::numeric_limits<std::size_t>::max();
  bool refused = false;
};
inline stb_budget_state& stb_budget() {
  thread_local stb_budget_state state;
  return state;
}
inline void* stb_malloc(std::size_t n) {
  if (n > stb_budget().ceiling) return stb_budget().refused = true, nullptr;
  return std::malloc(n);
}
inline void* stb_realloc(void* p, std::size_t n) {
  if (n > stb_budget().ceiling) return stb_budget().refused = true, nullptr;  // stb frees p itself
  return std::realloc(p, n);
}
//! Sets the ceiling for its lifetime (see the file comment); `refused()` says whether stb
//! asked for more.
class stb_allocation_budget {
 public:
  explicit stb_allocation_budget(std::size_t ceiling) : saved_(stb_budget()) { stb_budget() = {ceiling, false}; }
  stb_allocation_budget(const stb_allocation_budget&) = delete;
  stb_allocation_budget& operator=(const stb_allocation_budget&) = delete;
  ~stb_allocation_budget() { stb_budget() = saved_; }
  bool refused() const { return stb_budget().refused; }

 private:
  stb_budget_state saved_;
};
}  // namespace actatlas::detail

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#endif

#ifndef ACTATLAS_STB_INCLUDED
#define ACTATLAS_STB_INCLUDED
#define STB_IMAGE_STATIC
#define STBI_MALLOC(sz) ::actatlas::detail::stb_malloc(sz)
#define STBI_REALLOC(p, newsz) ::actatlas::detail::stb_realloc(p, newsz)
#define STBI_FREE(p) std::free(p)
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
#undef STB_IMAGE_IMPLEMENTATION
#undef STB_IMAGE_WRITE_IMPLEMENTATION
#endif

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
