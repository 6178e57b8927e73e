/// @file torch/load_model.hpp
/// One entry point for every kind of model file: `load_model(path, device)` asks each
/// registered loader, in order, whether it recognises the file and lets the first that
/// does build the classifier.
///
/// EXTENSION POINT: a new model kind adds one row to `detail::builtin_model_loaders()`
/// (for the library's own kinds) or calls `register_model_loader` at run time (for a
/// program's own). Rows still to be added by their owners:
///   - ".safetensors" → the native InceptionV1 (torch/inception_v1.hpp);
///   - the demo model's file → the demo CNN.
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../error.hpp"
#include "classifier.hpp"
#include "torchscript_model.hpp"

namespace actatlas {

//! One kind of model file: a name for messages, a cheap test on the file (its name or
//! its first bytes, never a full load) and the loader.
struct model_loader {
  std::string name;
  std::function<bool(const std::filesystem::path&)> accepts;
  std::function<std::unique_ptr<classifier>(const std::filesystem::path&, ::torch::Device)> load;
};

namespace detail {

//! True when the file starts with `magic`.
inline bool file_starts_with(const std::filesystem::path& path, const char* magic, std::size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::array<char, 16> head{};
  if (!in || n > head.size() || !in.read(head.data(), static_cast<std::streamsize>(n))) return false;
  return std::memcmp(head.data(), magic, n) == 0;
}

//! TorchScript archives (torch.jit.save) are zip files.
inline bool is_zip_archive(const std::filesystem::path& path) { return file_starts_with(path, "PK\x03\x04", 4); }

//! The loaders the library knows, in the order they are tried.
inline std::vector<model_loader>& model_loaders() {
  static std::vector<model_loader> table = {
      {"TorchScript archive (.pt, from tools/export_torchvision.py)", is_zip_archive,
       [](const std::filesystem::path& p, ::torch::Device d) -> std::unique_ptr<classifier> {
         return std::make_unique<torchscript_model>(p, d);
       }},
      // EXTENSION POINT (inception engineer): {".safetensors InceptionV1", has .safetensors extension, load inception_v1}
      // EXTENSION POINT (demo engineer): {"demo model", recognises the demo model file, load the demo CNN}
  };
  return table;
}

}  // namespace detail

//! Adds a loader, tried before the built-in ones (so a program can claim a format first).
inline void register_model_loader(model_loader loader) {
  auto& table = detail::model_loaders();
  table.insert(table.begin(), std::move(loader));
}

//! Loads the model in `path` onto `device` with the first loader that accepts the file.
//! A missing file, or one no loader recognises, is an input_error naming it.
inline std::unique_ptr<classifier> load_model(const std::filesystem::path& path, ::torch::Device device) {
  if (!std::filesystem::exists(path)) throw input_error(path.string(), "no such model file");
  if (!std::filesystem::is_regular_file(path)) throw input_error(path.string(), "not a regular file");
  std::string kinds;
  for (const auto& loader : detail::model_loaders()) {
    if (loader.accepts(path)) return loader.load(path, device);
    kinds += (kinds.empty() ? "" : "; ") + loader.name;
  }
  throw input_error(path.string(), "not a model file this program can read (known kinds: " + kinds + ")");
}

}  // namespace actatlas
