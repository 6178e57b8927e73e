/// @file torch/models.hpp
/// `open_model(path, device)`: load any model file the library knows — an actatlas demo
/// model, InceptionV1 weights in `.safetensors`, or a TorchScript classifier — by
/// registering the native models with `load_model`'s table. The demo model is tried
/// before TorchScript because LibTorch archives are zip files too.
#pragma once

#include <filesystem>
#include <memory>

#include "demo_model.hpp"
#include "inception_v1.hpp"
#include "load_model.hpp"

namespace actatlas {

namespace detail {
inline bool has_extension(const std::filesystem::path& p, const char* ext) { return p.extension() == ext; }

inline void register_native_models() {
  static const bool once = [] {
    register_model_loader({"InceptionV1 weights (.safetensors, from tools/export_inceptionv1.py)",
                           [](const std::filesystem::path& p) { return has_extension(p, ".safetensors"); },
                           [](const std::filesystem::path& p, ::torch::Device d) -> std::unique_ptr<classifier> {
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
