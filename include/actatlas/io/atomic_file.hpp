/// @file io/atomic_file.hpp
/// Every output is written to a temporary name beside its destination and renamed
/// into place when complete, so a crash or a kill never leaves a half-written file
/// under the real name (rename is atomic within one file system).
#pragma once

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <ostream>
#include <string>
#include <system_error>

#include <unistd.h>

#include "../error.hpp"

namespace actatlas::io {

namespace detail {
//! A name beside `path` that no other writer in this or another process uses.
inline std::filesystem::path temporary_sibling(const std::filesystem::path& path) {
  static std::atomic<unsigned> counter{0};
  return path.parent_path() /
         (path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
}
}  // namespace detail

namespace detail {
//! "cannot open for writing", "write failed" and the like, with the system's reason when it
//! left one (ENOSPC: "No space left on device", EACCES: "Permission denied").
inline std::string io_problem(const char* what, int err) {
  return err != 0 ? std::string(what) + ": " + std::strerror(err) : std::string(what) + " (disk full?)";
}
}  // namespace detail

//! Writes `path` through `write` into a temporary sibling, then renames it into place.
//! If `write` throws or the stream fails (a full disk, a quota), the temporary is removed
//! and `path` is left as it was (absent, or the previous complete version); the error is
//! an input_error naming `path` and the system's reason.
inline void atomic_write(const std::filesystem::path& path, const std::function<void(std::ostream&)>& write) {
  namespace fs = std::filesystem;
  if (path.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) throw input_error(path.string(), "cannot create folder: " + ec.message());
  }
  const fs::path tmp = detail::temporary_sibling(path);
  try {
    {
      errno = 0;
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) throw input_error(path.string(), detail::io_problem("cannot open for writing", errno));
      write(out);
      out.flush();
      if (!out) throw input_error(path.string(), detail::io_problem("write failed", errno));
      errno = 0;
      out.close();  // the last buffered bytes reach the file system here
      if (!out) throw input_error(path.string(), detail::io_problem("write failed", errno));
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) throw input_error(path.string(), "cannot rename the finished file into place: " + ec.message());
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
}

}  // namespace actatlas::io
