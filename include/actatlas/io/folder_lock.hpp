/// @file io/folder_lock.hpp
/// One writer per run or atlas folder. Two processes writing the same collection would
/// interleave shards and each would take the other's temporaries for debris; two renders
/// would overwrite each other's icons. The stages that write a folder hold a `folder_lock`
/// on it: an advisory `flock` on `<folder>/.actatlas.lock`. The kernel drops the lock
/// when the process ends, however it ends (kill -9 included), so a killed run never
/// leaves a folder locked; the lock file itself stays and is harmless.
///
/// A second process gets an `input_error` naming the folder. The lock file is empty and
/// never rewritten (a rerun that reuses every stage changes no file's time). Within one
/// process the lock is re-entrant: the collect stage's merge, called while collect holds
/// the run folder, takes it again.
#pragma once

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "../error.hpp"

namespace actatlas::io {

namespace detail {
//! The folders this process holds: canonical path → (descriptor, holders).
struct held_locks {
  std::mutex mutex;
  std::map<std::string, std::pair<int, int>> folders;
};
inline held_locks& process_locks() {
  static held_locks locks;
  return locks;
}
}  // namespace detail

//! Holds `<folder>/.actatlas.lock` for its lifetime (see the file comment). The folder is
//! created when missing; a folder that cannot be created or written is an input_error.
class folder_lock {
 public:
  explicit folder_lock(const std::filesystem::path& folder) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) throw input_error(folder.string(), "cannot create the folder: " + ec.message());
    key_ = fs::weakly_canonical(folder, ec).string();
    if (ec) key_ = fs::absolute(folder).lexically_normal().string();
    auto& locks = detail::process_locks();
    std::lock_guard guard(locks.mutex);
    if (auto it = locks.folders.find(key_); it != locks.folders.end()) {
      ++it->second.second;
      return;
    }
    const auto lock_path = folder / ".actatlas.lock";
    const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      const int err = errno;
      throw input_error(folder.string(), "cannot write here (" + std::string(std::strerror(err)) + ")");
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK)
        throw input_error(folder.string(), "in use by another actatlas process (" + lock_path.filename().string() +
                                               " is locked); wait for it to finish, or stop it first");
      throw input_error(folder.string(), "cannot lock (" + std::string(std::strerror(err)) + ")");
    }
    locks.folders.emplace(key_, std::make_pair(fd, 1));
  }
  folder_lock(const folder_lock&) = delete;
  folder_lock& operator=(const folder_lock&) = delete;
  ~folder_lock() {
    auto& locks = detail::process_locks();
    std::lock_guard guard(locks.mutex);
    auto it = locks.folders.find(key_);
    if (it == locks.folders.end()) return;
    if (--it->second.second == 0) {
      ::close(it->second.first);  // closing the only descriptor releases the flock
      locks.folders.erase(it);
    }
  }

 private:
  std::string key_;
};

}  // namespace actatlas::io
