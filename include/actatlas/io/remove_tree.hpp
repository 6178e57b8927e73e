/// @file io/remove_tree.hpp
/// Removes a folder and everything in it, without std::filesystem::remove_all: pip's
/// LibTorch 2.x exports its own copy of that symbol, and calling it from code built with
/// another libstdc++ crashed (seen on a CUDA machine). Removing entry by entry with
/// std::filesystem::remove needs nothing from that copy.
#pragma once

#include <filesystem>
#include <system_error>
#include <vector>

namespace actatlas::io {

//! Removes `path` (a file or a folder tree). A missing path is not an error; failures are
//! reported through `ec` and the removal goes on with the rest.
inline void remove_tree(const std::filesystem::path& path, std::error_code& ec) noexcept {
  namespace fs = std::filesystem;
  ec.clear();
  const auto status = fs::symlink_status(path, ec);
  if (ec || !fs::exists(status)) {
    ec.clear();
    return;
  }
  if (fs::is_directory(status)) {
    std::vector<fs::path> children;
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) children.push_back(it->path());
    for (const auto& child : children) {
      std::error_code child_ec;
      remove_tree(child, child_ec);
      if (child_ec && !ec) ec = child_ec;
    }
  }
  std::error_code own;
  fs::remove(path, own);
  if (own && !ec) ec = own;
}

//! Throwing form: std::filesystem_error naming the path.
inline void remove_tree(const std::filesystem::path& path) {
  std::error_code ec;
  remove_tree(path, ec);
  if (ec) throw std::filesystem::filesystem_error("cannot remove", path, ec);
}

}  // namespace actatlas::io
