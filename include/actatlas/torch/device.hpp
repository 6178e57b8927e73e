/// @file torch/device.hpp
/// Where the model runs. "auto" picks CUDA when this LibTorch was built with it and a GPU
/// is present, the CPU otherwise; "cpu" and "cuda" force one. The rest of the library
/// takes a `torch::Device` and runs the same code on either.
#pragma once

#include <torch/torch.h>

#include <string>
#include <string_view>

#include "../error.hpp"

namespace actatlas {

//! Which device to run on.
enum class device_choice { automatic, cpu, cuda };

//! True when LibTorch was built with CUDA and at least one GPU is visible.
inline bool cuda_usable() { return ::torch::cuda::is_available(); }

//! "auto" | "cpu" | "cuda" → device_choice; anything else is an input_error naming `where`.
inline device_choice parse_device_choice(std::string_view text, const std::string& where = "device") {
  if (text == "auto") return device_choice::automatic;
  if (text == "cpu") return device_choice::cpu;
  if (text == "cuda" || text == "gpu") return device_choice::cuda;
  throw input_error(where, "unknown device '" + std::string(text) + "' (expected auto, cpu or cuda)");
}

//! The device for `choice`. Asking for CUDA where there is none is an input_error: a
//! silent fall-back to the CPU would turn a one-hour job into a two-day one unannounced.
inline ::torch::Device pick_device(device_choice choice = device_choice::automatic) {
  switch (choice) {
    case device_choice::cpu:
      return ::torch::Device(::torch::kCPU);
    case device_choice::cuda:
      if (!cuda_usable())
        throw input_error("device",
                          "CUDA is not available (this LibTorch was built without it, or no GPU is visible)");
      return ::torch::Device(::torch::kCUDA, 0);
    case device_choice::automatic:
    default:
      return cuda_usable() ? ::torch::Device(::torch::kCUDA, 0) : ::torch::Device(::torch::kCPU);
  }
}

//! pick_device(parse_device_choice(text)).
inline ::torch::Device pick_device(std::string_view text) { return pick_device(parse_device_choice(text)); }

}  // namespace actatlas
