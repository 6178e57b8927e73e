/// @file torch/models.hpp
/// `open_model(path, device)`: load any model file the library knows — an actatlas demo
/// model, InceptionV1 weights in `.safetensors`, or a TorchScript classifier — by
/// registering the native models with `load_model`'s table. The demo model is tried
/// before TorchScript because LibTorch archives are zip files too.
#pragma once

#include <array>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "../detail/known_keys.hpp"
#include "../io/safetensors.hpp"
#include "demo_model.hpp"
#include "inception_v1.hpp"
#include "load_model.hpp"

namespace actatlas {

//! The keys of ours an InceptionV1 `.safetensors` file's metadata may hold (written by
//! tools/export_inceptionv1.py and inception_v1::save_safetensors). Keys without the
//! "actatlas." prefix belong to other tools ("format") and are left alone.
inline constexpr std::array<std::string_view, 3> inception_v1_metadata_keys = {
    "actatlas.class_names", "actatlas.model", "actatlas.note"};

namespace detail {
inline bool has_extension(const std::filesystem::path& p, const char* ext) { return p.extension() == ext; }

//! A misspelt "actatlas.class_names" would leave the atlas labelled class_0 … class_1007
//! without a word: an "actatlas." key we do not know is an input_error naming the file.
inline void check_inception_v1_metadata(const std::filesystem::path& path) {
  const io::safetensors_file file(path);  // named: a temporary would die before the loop's body
  std::vector<std::string> ours;
  for (const auto& entry : file.metadata())
    if (entry.first.starts_with("actatlas.")) ours.push_back(entry.first);
  check_known_keys(ours, inception_v1_metadata_keys, path.string(), "metadata");
}

inline void register_native_models() {
  static const bool once = [] {
    register_model_loader({"InceptionV1 weights (.safetensors, from tools/export_inceptionv1.py)",
                           [](const std::filesystem::path& p) { return has_extension(p, ".safetensors"); },
                           [](const std::filesystem::path& p, ::torch::Device d) -> std::unique_ptr<classifier> {
                             check_inception_v1_metadata(p);
                             return std::make_unique<inception_v1>(p, d);
                           }});
    register_model_loader({"actatlas demo model (actatlas train-demo)", is_demo_model_file,
                           [](const std::filesystem::path& p, ::torch::Device d) -> std::unique_ptr<classifier> {
                             auto model = load_demo_model(p);
                             model->to(d);
                             return model;
                           }});
    return true;
  }();
  (void)once;
}
}  // namespace detail

//! Loads `path` onto `device`; an unknown or damaged file is an input_error naming it.
inline std::unique_ptr<classifier> open_model(const std::filesystem::path& path, ::torch::Device device) {
  detail::register_native_models();
  return load_model(path, device);
}

}  // namespace actatlas
