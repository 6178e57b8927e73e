/// @file torch/inception_v1.hpp
/// InceptionV1 (GoogLeNet) exactly as the Activation Atlas article used it: lucid's
/// "InceptionV1" graph (TensorFlow's inception5h), written natively in LibTorch.
///
/// - Layer names and widths are the article's: conv2d0 (64), maxpool0, localresponsenorm0,
///   conv2d1 (64), conv2d2 (192), localresponsenorm1, maxpool1, mixed3a (256), mixed3b (480),
///   maxpool4, mixed4a (508), mixed4b (512), mixed4c (512), mixed4d (528), mixed4e (832),
///   maxpool10, mixed5a (832), mixed5b (1024), avgpool0 (1024, 1×1), softmax2 (1008, 1×1,
///   the class probabilities). "logits" are softmax2's pre-activation (1008 classes; class 0
///   is lucid's "dummy" label).
/// - Input: RGB in [0, 1]; the model maps it to the graph's range [-117, 138] (x·255 − 117).
/// - Parameters carry the names of the public PyTorch port (lucent's
///   `lucent.modelzoo.inceptionv1`, converted from lucid by ProGamerGov):
///   `conv2d0_pre_relu_conv.weight`, `mixed4c_3x3_bottleneck_pre_relu_conv.bias`, ...,
///   `softmax2_pre_activation_matmul.weight` — 116 tensors, so its state dict exported by
///   tools/export_inceptionv1.py loads here unchanged.
/// - Weights come from a `.safetensors` file parsed by io/safetensors.hpp; a missing, extra
///   or mis-shaped tensor is an input_error naming it. A seeded random initialisation
///   serves tests and benchmarks.
/// - Weights are frozen (requires_grad false). Under grad mode gradients flow to the input
///   (when it requires them) and to every returned layer (which becomes a leaf of the graph
///   when nothing upstream requires gradients), never to the weights.
/// - `options::max_pool_gradient` swaps every max-pool's gradient for lucid's continuous
///   relaxation during attribution (torch/pool_gradient.hpp); the forward values never change.
/// - Padding is TensorFlow's SAME, computed from the actual map size (at 224×224 it is
///   lucent's fixed (2,3) / (0,1) padding); the final average pool is a mean over the map
///   (= the graph's 7×7 VALID pool at 224), so other input sizes work too.
///
/// @code
/// actatlas::inception_v1 model("inceptionv1.safetensors", torch::kCPU,
///                              {.max_pool_gradient = actatlas::pool_gradient::l2_relaxation});
/// auto out = model.forward(images, {"mixed4c"});   // out["mixed4c"]: [B,512,14,14], out["logits"]: [B,1008]
/// @endcode
#pragma once

#include <torch/torch.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "../error.hpp"
#include "../io/safetensors.hpp"
#include "classifier.hpp"
#include "pool_gradient.hpp"

namespace actatlas {

//! How the two local-response-normalisation layers compute. Both use TF's formula
//! x / (bias + α·Σ_window x²)^β; they differ in its parameters.
enum class lrn_form {
  //! The parameters stored in lucid's InceptionV1.pb (depth_radius 5 → window 11,
  //! bias 2, α 1e-4, β 0.5): what the weights were trained with. Default.
  tensorflow,
  //! lucent's port (window 9, k 1, α 1e-4 divided by the window as PyTorch does, β 0.5):
  //! reproduces lucent's outputs exactly, e.g. to compare against it.
  lucent
};

namespace detail {

//! Branch widths of one mixed (inception) block, lucid's graph (they differ from
//! torchvision's GoogLeNet: e.g. mixed4a's 3×3 branch has 204 channels, not 208).
struct inception_mixed_widths {
  std::string_view name;
  std::int64_t in, b1x1, b3x3_bottleneck, b3x3, b5x5_bottleneck, b5x5, pool_reduce;
  std::int64_t out() const { return b1x1 + b3x3 + b5x5 + pool_reduce; }
};

inline constexpr std::array<inception_mixed_widths, 9> inception_v1_mixed = {{
    {"mixed3a", 192, 64, 96, 128, 16, 32, 32},
    {"mixed3b", 256, 128, 128, 192, 32, 96, 64},
    {"mixed4a", 480, 192, 96, 204, 16, 48, 64},
    {"mixed4b", 508, 160, 112, 224, 24, 64, 64},
    {"mixed4c", 512, 128, 128, 256, 24, 64, 64},
    {"mixed4d", 512, 112, 144, 288, 32, 64, 64},
    {"mixed4e", 528, 256, 160, 320, 32, 128, 128},
    {"mixed5a", 832, 256, 160, 320, 48, 128, 128},
    {"mixed5b", 832, 384, 192, 384, 48, 128, 128},
}};

//! The exposed layers, input to output, with their channels; the forward pass walks this
//! list and stops after the deepest layer asked for.
inline const std::vector<layer_info>& inception_v1_layers() {
  static const std::vector<layer_info> layers = {
      {"conv2d0", 64},     {"maxpool0", 64},   {"localresponsenorm0", 64}, {"conv2d1", 64},   {"conv2d2", 192},
      {"localresponsenorm1", 192}, {"maxpool1", 192}, {"mixed3a", 256}, {"mixed3b", 480}, {"maxpool4", 480},
      {"mixed4a", 508},    {"mixed4b", 512},   {"mixed4c", 512},   {"mixed4d", 528},   {"mixed4e", 832},
      {"maxpool10", 832},  {"mixed5a", 832},   {"mixed5b", 1024},  {"avgpool0", 1024}, {"softmax2", 1008},
  };
  return layers;
}

//! The parameters, registered under lucent's names so `named_parameters()` is its state dict.
class inception_v1_net : public torch::nn::Module {
 public:
  struct mixed_convs {
    torch::nn::Conv2d b1x1{nullptr}, b3x3_bottleneck{nullptr}, b3x3{nullptr}, b5x5_bottleneck{nullptr}, b5x5{nullptr},
        pool_reduce{nullptr};
  };

  inception_v1_net() {
    conv2d0 = conv("conv2d0", 3, 64, 7, 2);
    conv2d1 = conv("conv2d1", 64, 64, 1);
    conv2d2 = conv("conv2d2", 64, 192, 3);
    for (std::size_t i = 0; i < inception_v1_mixed.size(); ++i) {
      const auto& w = inception_v1_mixed[i];
      const std::string n(w.name);
      // Registration order follows lucent's __init__, so named_parameters() lists the
      // tensors in the same order as its state dict.
      mixed[i].b1x1 = conv(n + "_1x1", w.in, w.b1x1, 1);
      mixed[i].b3x3_bottleneck = conv(n + "_3x3_bottleneck", w.in, w.b3x3_bottleneck, 1);
      mixed[i].b5x5_bottleneck = conv(n + "_5x5_bottleneck", w.in, w.b5x5_bottleneck, 1);
      mixed[i].pool_reduce = conv(n + "_pool_reduce", w.in, w.pool_reduce, 1);
      mixed[i].b3x3 = conv(n + "_3x3", w.b3x3_bottleneck, w.b3x3, 3);
      mixed[i].b5x5 = conv(n + "_5x5", w.b5x5_bottleneck, w.b5x5, 5);
    }
    softmax2 = register_module("softmax2_pre_activation_matmul", torch::nn::Linear(1024, 1008));
  }

  torch::nn::Conv2d conv2d0{nullptr}, conv2d1{nullptr}, conv2d2{nullptr};
  std::array<mixed_convs, inception_v1_mixed.size()> mixed;
  torch::nn::Linear softmax2{nullptr};

 private:
  //! A convolution without built-in padding: SAME padding is applied explicitly, because
  //! TF's SAME is asymmetric for even sizes with stride 2 (conv2d0).
  torch::nn::Conv2d conv(const std::string& name, std::int64_t in, std::int64_t out, std::int64_t kernel,
                         std::int64_t stride = 1) {
    return register_module(name + "_pre_relu_conv",
                           torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).bias(true)));
  }
};

//! A convolution with TF SAME padding, then ReLU.
inline torch::Tensor same_conv_relu(const torch::Tensor& x, torch::nn::Conv2d& conv) {
  namespace F = torch::nn::functional;
  const auto& o = conv->options;
  const std::int64_t k = (*o.kernel_size())[0], s = (*o.stride())[0];
  const auto pad = same_padding(x.size(2), x.size(3), k, s);
  const bool any = pad != std::array<std::int64_t, 4>{0, 0, 0, 0};
  return torch::relu(conv(any ? F::pad(x, F::PadFuncOptions({pad[0], pad[1], pad[2], pad[3]})) : x));
}

inline torch::Tensor same_max_pool(const torch::Tensor& x, std::int64_t stride, pool_gradient g) {
  return max_pool2d(x, pool_window{3, stride, same_padding(x.size(2), x.size(3), 3, stride)}, g);
}

inline torch::Tensor local_response_norm(const torch::Tensor& x, lrn_form form) {
  namespace F = torch::nn::functional;
  // PyTorch computes x / (k + α/n · Σ_window x²)^β over a window of n channels, so TF's
  // α (which multiplies the plain sum) becomes α·n here.
  constexpr double alpha = 9.999999747378752e-05;  // the float 1e-4 as stored in the graph
  if (form == lrn_form::tensorflow)
    return F::local_response_norm(x, F::LocalResponseNormFuncOptions(11).alpha(alpha * 11).beta(0.5).k(2.0));
  return F::local_response_norm(x, F::LocalResponseNormFuncOptions(9).alpha(alpha).beta(0.5).k(1.0));
}

}  // namespace detail

//! Options of inception_v1 (defined outside the class so that `options o = {}` can be a
//! default argument of its constructors).
struct inception_v1_options {
  //! Max-pool gradient used by every backward pass through the model (forward values
  //! are unaffected). Lucid's attribution uses l2_relaxation.
  pool_gradient max_pool_gradient = pool_gradient::exact;
  //! LRN parameters: the TF graph's (default) or lucent's.
  lrn_form lrn = lrn_form::tensorflow;
  //! Class names (1008). Empty: taken from the weight file's metadata
  //! ("actatlas.class_names", a JSON array), else "class_0" … "class_1007".
  std::vector<std::string> class_names = {};
};

//! The article's InceptionV1. See the file comment for layers, input range and weights.
class inception_v1 final : public classifier {
 public:
  static constexpr std::string_view name = "inception_v1";

  using options = inception_v1_options;

  //! Tag for the random-initialisation constructor.
  struct random_init {
    std::uint64_t seed = 0;
  };

  //! Random weights (He-normal convolutions, small biases) from `seed`, on the CPU, for
  //! tests and benchmarks. The same seed gives the same weights.
  explicit inception_v1(random_init init, options o = {}) : opts_(std::move(o)) {
    freeze();
    set_up_info({});
    auto gen = at::make_generator<at::CPUGeneratorImpl>(init.seed);
    torch::NoGradGuard no_grad;
    for (auto& p : net_->named_parameters()) {
      auto& t = p.value();
      if (t.dim() > 1) {
        const double fan_in = static_cast<double>(t.numel() / t.size(0));
        t.copy_(torch::randn(t.sizes(), gen) * std::sqrt(2.0 / fan_in));
      } else {
        t.copy_(torch::randn(t.sizes(), gen) * 0.01);
      }
    }
  }

  //! Weights from a `.safetensors` file holding lucent's state dict (see
  //! tools/export_inceptionv1.py), loaded onto `device`. Missing, extra or mis-shaped
  //! tensors, and non-float dtypes, are input_errors naming the file and the tensor.
  explicit inception_v1(const std::filesystem::path& weights, torch::Device device = torch::kCPU, options o = {})
      : opts_(std::move(o)) {
    freeze();
    const io::safetensors_file file(weights);
    load(file);
    set_up_info(file.metadata());
    to(device);
  }

  //! True when `path` looks like a weight file for this model: a `.safetensors` name.
  //! (A cheap test for model loaders; the header is validated by the constructor.)
  static bool accepts(const std::filesystem::path& path) { return path.extension() == ".safetensors"; }

  const options& opts() const { return opts_; }

  //! Changes the max-pool gradient, e.g. relaxation for attribution, exact otherwise.
  void set_max_pool_gradient(pool_gradient g) { opts_.max_pool_gradient = g; }

  const model_info& info() const override { return info_; }

  //! The classifier contract: "logits" [B,1008] and each asked-for layer.
  layer_outputs forward(const torch::Tensor& x, const std::vector<std::string>& layers) override {
    return run(x, layers, /*with_logits=*/true);
  }

  //! Only the asked-for layers (no "logits"): the pass stops after the deepest of them,
  //! e.g. asking for mixed3b runs 9 of the 20 stages.
  layer_outputs features(const torch::Tensor& x, const std::vector<std::string>& layers) override {
    return run(x, layers, /*with_logits=*/false);
  }

  void to(torch::Device device) override {
    net_->to(device);
    device_ = device;
  }
  torch::Device device() const override { return device_; }

  //! The parameters under lucent's names (its state dict).
  std::vector<std::pair<std::string, torch::Tensor>> named_parameters() const {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const auto& p : net_->named_parameters()) out.emplace_back(p.key(), p.value());
    return out;
  }

  //! The parameters and (should the network gain any) buffers, for model_fingerprint().
  std::vector<std::pair<std::string, torch::Tensor>> named_state() const override {
    auto out = named_parameters();
    for (const auto& b : net_->named_buffers()) out.emplace_back(b.key(), b.value());
    return out;
  }

  //! Writes the weights as float32 `.safetensors` (atomically), with the class names in
  //! the metadata, in the layout the weight constructor reads.
  void save_safetensors(const std::filesystem::path& path) const {
    io::safetensors_writer w;
    for (const auto& [key, value] : named_parameters()) {
      const auto cpu = value.detach().to(torch::kCPU, torch::kFloat32).contiguous();
      w.add(key, cpu.sizes().vec(), cpu.data_ptr<float>());
    }
    w.metadata("format", "pt");
    w.metadata("actatlas.model", std::string(name));
    w.metadata("actatlas.class_names", nlohmann::json(info_.class_names).dump());
    w.write(path);
  }

 private:
  //! The weights never need gradients here (the atlas differentiates with respect to
  //! images and activations, never trains), and leaving them out of the autograd graph
  //! makes backward passes skip every weight gradient and every max-pool relaxation
  //! upstream of the layer being attributed.
  void freeze() {
    for (auto& p : net_->parameters()) p.requires_grad_(false);
  }

  void load(const io::safetensors_file& file) {
    const std::string where = file.path().string();
    const auto params = net_->named_parameters();
    for (const auto& t : file.tensors())
      if (!params.contains(t.name))
        throw input_error(where, "unexpected tensor '" + t.name + "': not a parameter of InceptionV1 (expected the " +
                                     std::to_string(params.size()) + " tensors of lucent's InceptionV1 state dict)");
    torch::NoGradGuard no_grad;
    for (const auto& p : net_->named_parameters()) {
      const auto* entry = file.find(p.key());
      if (!entry) throw input_error(where, "missing tensor '" + p.key() + "' (InceptionV1 needs " + std::to_string(params.size()) + ")");
      const auto expected = p.value().sizes().vec();
      if (entry->shape != expected)
        throw input_error(where, "tensor '" + p.key() + "' has shape " + io::detail::shape_string(entry->shape) +
                                     ", InceptionV1 expects " + io::detail::shape_string(expected));
      auto values = file.read_float(p.key());
      p.value().copy_(torch::from_blob(values.data(), p.value().sizes(), torch::kFloat32));
    }
  }

  void set_up_info(const std::map<std::string, std::string>& metadata) {
    info_.input_height = 224;
    info_.input_width = 224;
    info_.layers = detail::inception_v1_layers();
    auto names = opts_.class_names;
    if (names.empty()) {
      if (auto it = metadata.find("actatlas.class_names"); it != metadata.end()) {
        try {
          names = nlohmann::json::parse(it->second).get<std::vector<std::string>>();
        } catch (const nlohmann::json::exception&) {
          throw input_error("actatlas.class_names", "metadata is not a JSON array of strings");
        }
      }
    }
    if (names.empty())
      for (int c = 0; c < 1008; ++c) names.push_back("class_" + std::to_string(c));
    if (names.size() != 1008)
      throw input_error("class_names", std::to_string(names.size()) + " names given, InceptionV1 has 1008 classes");
    info_.class_names = std::move(names);
  }

  //! Index of each asked-for layer in inception_v1_layers(); unknown names are an
  //! input_error listing the layers there are.
  std::vector<std::size_t> resolve(const std::vector<std::string>& layers) const {
    const auto& all = detail::inception_v1_layers();
    std::vector<std::size_t> idx;
    for (const auto& l : layers) {
      if (l == "logits") continue;  // always part of forward(); see run()
      auto it = std::find_if(all.begin(), all.end(), [&](const layer_info& i) { return i.name == l; });
      if (it == all.end()) {
        std::string known;
        for (const auto& i : all) known += (known.empty() ? "" : ", ") + i.name;
        throw input_error(l, "InceptionV1 has no such layer; it has " + known);
      }
      idx.push_back(static_cast<std::size_t>(it - all.begin()));
    }
    return idx;
  }

  layer_outputs run(const torch::Tensor& x, const std::vector<std::string>& layers, bool with_logits) {
    if (x.dim() != 4 || x.size(1) != 3)
      throw input_error("input", "InceptionV1 expects [B,3,H,W] RGB, got " + io::detail::shape_string(x.sizes().vec()));
    const auto wanted = resolve(layers);
    const auto& all = detail::inception_v1_layers();
    const std::size_t last_stage = all.size() - 1;  // softmax2, where the logits are made
    // "logits" may be asked for by name too (features() then computes them).
    with_logits = with_logits || std::find(layers.begin(), layers.end(), "logits") != layers.end();
    if (!with_logits && wanted.empty()) return {};
    std::size_t deepest = with_logits ? last_stage : 0;
    for (auto i : wanted) deepest = std::max(deepest, i);
    std::vector<bool> keep(all.size(), false);
    for (auto i : wanted) keep[i] = true;

    const auto g = opts_.max_pool_gradient;
    auto& n = *net_;
    layer_outputs out;
    // The graph's input range: [0,1] → [-117, 138].
    torch::Tensor h = x.to(torch::kFloat32) * 255.0 - 117.0;
    for (std::size_t stage = 0; stage <= deepest; ++stage) {
      switch (stage) {
        case 0: h = detail::same_conv_relu(h, n.conv2d0); break;
        case 1: h = detail::same_max_pool(h, 2, g); break;
        case 2: h = detail::local_response_norm(h, opts_.lrn); break;
        case 3: h = detail::same_conv_relu(h, n.conv2d1); break;
        case 4: h = detail::same_conv_relu(h, n.conv2d2); break;
        case 5: h = detail::local_response_norm(h, opts_.lrn); break;
        case 6: h = detail::same_max_pool(h, 2, g); break;
        case 7: h = mixed(h, 0); break;   // mixed3a
        case 8: h = mixed(h, 1); break;   // mixed3b
        case 9: h = detail::same_max_pool(h, 2, g); break;  // maxpool4
        case 10: h = mixed(h, 2); break;  // mixed4a
        case 11: h = mixed(h, 3); break;
        case 12: h = mixed(h, 4); break;
        case 13: h = mixed(h, 5); break;
        case 14: h = mixed(h, 6); break;  // mixed4e
        case 15: h = detail::same_max_pool(h, 2, g); break;  // maxpool10
        case 16: h = mixed(h, 7); break;  // mixed5a
        case 17: h = mixed(h, 8); break;  // mixed5b
        case 18: h = h.mean({2, 3}, /*keepdim=*/true); break;  // avgpool0
        case 19: {
          const auto logits = n.softmax2(h.flatten(1));
          if (with_logits) out["logits"] = logits;
          h = torch::softmax(logits, 1).unsqueeze(2).unsqueeze(3);  // softmax2 as [B,1008,1,1]
          break;
        }
        default: break;
      }
      if (keep[stage]) {
        // A returned layer is always differentiable (under grad mode): when nothing
        // upstream asks for gradients (weights frozen, input a constant) it becomes a leaf
        // of the graph, so ∂logits/∂layer works, and only the stages after it pay for
        // autograd (and for the max-pool relaxation).
        if (torch::GradMode::is_enabled() && !h.requires_grad()) h = h.detach().requires_grad_(true);
        out[all[stage].name] = h;
      }
    }
    return out;
  }

  torch::Tensor mixed(const torch::Tensor& x, std::size_t block) {
    auto& m = net_->mixed[block];
    const auto b1 = detail::same_conv_relu(x, m.b1x1);
    const auto b3 = detail::same_conv_relu(detail::same_conv_relu(x, m.b3x3_bottleneck), m.b3x3);
    const auto b5 = detail::same_conv_relu(detail::same_conv_relu(x, m.b5x5_bottleneck), m.b5x5);
    const auto bp = detail::same_conv_relu(detail::same_max_pool(x, 1, opts_.max_pool_gradient), m.pool_reduce);
    return torch::cat({b1, b3, b5, bp}, 1);
  }

  options opts_;
  std::shared_ptr<detail::inception_v1_net> net_ = std::make_shared<detail::inception_v1_net>();
  torch::Device device_ = torch::kCPU;
  model_info info_;
};

}  // namespace actatlas
